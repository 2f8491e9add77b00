//! Combining the sources' prices into one per token.

use std::time::Duration;

use solstice_market::TickPrice;
use solstice_types::{Token, UsdPrice};

use crate::sources::Board;

/// How prices are combined.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// A source's price counts only this long after the source last vouched for it.
    pub freshness: Duration,
    /// Fresh prices further apart than this (in basis points of the lowest) make the token
    /// suspect.
    pub disagreement_bps: u32,
}

/// Every token with at least one fresh price: the median of the fresh prices (the mean of the
/// middle two for an even count), suspect when they disagree beyond the bound. A token that
/// no source prices freshly is left out: no price is better than an old one.
pub fn combine(board: &Board, now_ms: i64, rules: Rules) -> Vec<TickPrice> {
    Token::ALL
        .into_iter()
        .filter_map(|token| {
            let fresh = board.fresh(token, now_ms, rules.freshness);
            let (price, suspect) = agree(&fresh.iter().map(|(_, price)| *price).collect::<Vec<_>>(), rules)?;
            Some(TickPrice {
                token,
                price,
                open_24h: None,
                suspect,
                sources: fresh.iter().map(|(source, _)| (*source).to_owned()).collect(),
            })
        })
        .collect()
}

/// The combined price of `prices` and whether they disagree; `None` for no prices.
fn agree(prices: &[UsdPrice], rules: Rules) -> Option<(UsdPrice, bool)> {
    let mut picos: Vec<u128> = prices.iter().map(|price| u128::from(price.picodollars())).collect();
    picos.sort_unstable();
    let (low, high) = (*picos.first()?, *picos.last()?);
    let middle = picos.len() / 2;
    let median = if picos.len() % 2 == 1 { picos[middle] } else { (picos[middle - 1] + picos[middle]) / 2 };
    let suspect = (high - low) * 10_000 > u128::from(rules.disagreement_bps) * low;
    Some((UsdPrice::from_picodollars(median as u64), suspect))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules { freshness: Duration::from_secs(10), disagreement_bps: 200 };

    fn p(dollars: u64) -> UsdPrice {
        UsdPrice::from_picodollars(dollars * 1_000_000_000_000)
    }

    #[test]
    fn one_price_stands_alone_and_several_meet_in_the_middle() {
        assert_eq!(agree(&[p(100)], RULES), Some((p(100), false)));
        assert_eq!(agree(&[p(100), p(101)], RULES), Some((UsdPrice::from_picodollars(100_500_000_000_000), false)));
        assert_eq!(agree(&[p(101), p(100), p(150)], RULES), Some((p(101), true)));
        assert_eq!(agree(&[], RULES), None);
    }

    #[test]
    fn sources_two_percent_apart_agree_and_further_apart_do_not() {
        let at = |picos| UsdPrice::from_picodollars(picos);
        assert!(!agree(&[at(100_000), at(102_000)], RULES).unwrap().1);
        assert!(agree(&[at(100_000), at(102_001)], RULES).unwrap().1);
    }

    #[test]
    fn a_token_without_a_fresh_price_is_left_out() {
        let board = Board::default();
        board.report("kraken", Token::Sol, p(150));
        board.report("coinbase", Token::Sol, p(151));
        board.report("kraken", Token::Bonk, UsdPrice::from_picodollars(21_000_000));
        let now = crate::sources::now_ms();
        let prices = combine(&board, now, RULES);
        assert_eq!(prices.iter().map(|p| p.token).collect::<Vec<_>>(), [Token::Sol, Token::Bonk]);
        assert_eq!(prices[0].sources, ["coinbase", "kraken"]);
        assert!(combine(&board, now + 11_000, RULES).is_empty());
    }
}
