//! The exchange's pricing: pure integer arithmetic, no I/O.
//!
//! An order is valued at the market prices of both tokens, then pays a price impact that grows
//! with its size (as if it traded against a pool [`DEPTH`] dollars deep: an order worth `v`
//! receives `D / (D + v)` of its market value), then the fee, taken from what it receives.
//! Every division rounds in the exchange's favour by at most one base unit, so the treasury
//! never pays out more than the prices say.

use solstice_types::{Amount, Token, UsdPrice};

/// The exchange's fee: 0.30 % of what the order receives.
pub const FEE_BPS: u32 = 30;
/// Virtual depth of the market, in microdollars ($5 million). The impact is computed in
/// microdollars: fine enough, and it keeps the products far from `u128`'s limit even for
/// tokens worth a millionth of a cent.
pub const DEPTH: u128 = 5_000_000 * MICRO_PER_DOLLAR;
const MICRO_PER_DOLLAR: u128 = 1_000_000;
const PICO_PER_MICRO: u128 = 1_000_000;
const BPS: u128 = 10_000;

/// What an order pays and receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub amount_in: Amount,
    /// What the user receives, after the fee.
    pub amount_out: Amount,
    /// Taken from the output, in base units of the to-token.
    pub fee: Amount,
    pub price_impact_bps: u32,
}

/// Why an order cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PricingError {
    /// So small that it would receive nothing.
    TooSmall,
    /// Beyond what the arithmetic (or the market) can take.
    TooLarge,
}

/// The market prices of the two tokens of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    pub from: Token,
    pub to: Token,
    pub price_in: UsdPrice,
    pub price_out: UsdPrice,
}

fn pow10(decimals: u8) -> u128 {
    10u128.pow(u32::from(decimals))
}

/// Selling exactly `amount_in`.
pub fn exact_in(prices: &Prices, amount_in: Amount) -> Result<Fill, PricingError> {
    let price_in = u128::from(prices.price_in.picodollars());
    let price_out = u128::from(prices.price_out.picodollars());
    if price_in == 0 || price_out == 0 {
        return Err(PricingError::TooLarge);
    }
    let value = u128::from(amount_in.base_units()).checked_mul(price_in).ok_or(PricingError::TooLarge)?
        / pow10(prices.from.decimals());
    // What the value buys at the market price, then after the price impact.
    let gross = value.checked_mul(pow10(prices.to.decimals())).ok_or(PricingError::TooLarge)? / price_out;
    let after_impact = mul_div(gross, DEPTH, DEPTH + value / PICO_PER_MICRO)?;
    let fee = div_ceil(after_impact.checked_mul(u128::from(FEE_BPS)).ok_or(PricingError::TooLarge)?, BPS);
    let out = after_impact.saturating_sub(fee);
    if out == 0 {
        return Err(PricingError::TooSmall);
    }
    let impact_bps = ((gross - after_impact) * BPS).checked_div(gross).unwrap_or(0) as u32;
    Ok(Fill { amount_in, amount_out: to_amount(out)?, fee: to_amount(fee)?, price_impact_bps: impact_bps })
}

/// Receiving exactly `amount_out`: the least input whose exact-in fill gives at least that.
/// Whatever the rounding leaves over (a base unit or so) stays with the exchange.
///
/// Found by search rather than by inverting the formula: what an input receives never falls as
/// the input grows, and searching with [`exact_in`] itself means both sides of the exchange
/// can never disagree by a rounding.
pub fn exact_out(prices: &Prices, amount_out: Amount) -> Result<Fill, PricingError> {
    if amount_out.is_zero() {
        return Err(PricingError::TooSmall);
    }
    let delivers = |units: u64| -> Result<Option<Fill>, PricingError> {
        match exact_in(prices, to_amount(u128::from(units))?) {
            Ok(fill) if fill.amount_out >= amount_out => Ok(Some(fill)),
            Ok(_) | Err(PricingError::TooSmall) => Ok(None),
            Err(error) => Err(error),
        }
    };
    // Double until enough, then halve the gap.
    let mut high = 1u64;
    let mut best = loop {
        if let Some(fill) = delivers(high)? {
            break fill;
        }
        high = high.checked_mul(2).filter(|h| *h <= Amount::MAX.base_units()).ok_or(PricingError::TooLarge)?;
    };
    let mut low = high / 2; // Does not deliver (or is zero).
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        match delivers(middle)? {
            Some(fill) => (best, high) = (fill, middle),
            None => low = middle,
        }
    }
    Ok(Fill { amount_out, ..best })
}

/// `amount` lowered by `bps` basis points (rounded down): the least accepted under slippage.
pub fn minus_bps(amount: Amount, bps: u32) -> Amount {
    let scaled = u128::from(amount.base_units()) * (BPS - u128::from(bps)) / BPS;
    Amount::from_base_units(scaled as u64).expect("smaller than a valid amount")
}

/// `amount` raised by `bps` basis points (rounded up): the most paid under slippage.
pub fn plus_bps(amount: Amount, bps: u32) -> Option<Amount> {
    let scaled = div_ceil(u128::from(amount.base_units()) * (BPS + u128::from(bps)), BPS);
    u64::try_from(scaled).ok().and_then(Amount::from_base_units)
}

fn mul_div(a: u128, b: u128, c: u128) -> Result<u128, PricingError> {
    Ok(a.checked_mul(b).ok_or(PricingError::TooLarge)? / c)
}

fn div_ceil(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

fn to_amount(units: u128) -> Result<Amount, PricingError> {
    u64::try_from(units).ok().and_then(Amount::from_base_units).ok_or(PricingError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollars(d: f64) -> UsdPrice {
        UsdPrice::from_picodollars((d * 1e12) as u64)
    }

    fn sol_usdc() -> Prices {
        Prices { from: Token::Sol, to: Token::Usdc, price_in: dollars(200.0), price_out: dollars(1.0) }
    }

    fn amount(text: &str, token: Token) -> Amount {
        Amount::parse(text, token.decimals()).unwrap()
    }

    #[test]
    fn a_small_order_gets_the_market_price_less_the_fee() {
        let fill = exact_in(&sol_usdc(), amount("1", Token::Sol)).unwrap();
        // $200 of SOL: impact 200/5,000,200 ≈ 0.004 %, fee 0.3 %.
        let after_impact = 200_000_000u128 * DEPTH / (DEPTH + 200 * MICRO_PER_DOLLAR);
        let fee = (after_impact * 30).div_ceil(10_000);
        assert_eq!(u128::from(fill.fee.base_units()), fee);
        assert_eq!(u128::from(fill.amount_out.base_units()), after_impact - fee);
        assert_eq!(fill.amount_out.format(6), "199.392024");
        assert_eq!(fill.price_impact_bps, 0);
    }

    #[test]
    fn larger_orders_pay_a_larger_price_impact() {
        let small = exact_in(&sol_usdc(), amount("10", Token::Sol)).unwrap();
        let large = exact_in(&sol_usdc(), amount("10000", Token::Sol)).unwrap();
        assert!(large.price_impact_bps > small.price_impact_bps);
        // $2M into a $5M-deep market: 2/7 of the value is lost to impact.
        assert_eq!(large.price_impact_bps, 2_857);
    }

    #[test]
    fn exact_out_pays_the_least_input_that_delivers_the_amount() {
        for (prices, out) in [
            (sol_usdc(), amount("150", Token::Usdc)),
            (
                Prices { from: Token::Usdc, to: Token::Sol, price_in: dollars(1.0), price_out: dollars(187.37) },
                amount("0.5", Token::Sol),
            ),
            (
                Prices { from: Token::Sol, to: Token::Bonk, price_in: dollars(187.37), price_out: dollars(0.0000213) },
                amount("1000000", Token::Bonk),
            ),
        ] {
            let fill = exact_out(&prices, out).unwrap();
            assert_eq!(fill.amount_out, out);
            assert!(exact_in(&prices, fill.amount_in).unwrap().amount_out >= out);
            let one_less = Amount::from_base_units(fill.amount_in.base_units() - 1).unwrap();
            assert!(exact_in(&prices, one_less).map_or(true, |f| f.amount_out < out), "{prices:?}");
        }
    }

    #[test]
    fn dust_and_absurd_sizes_are_refused() {
        assert_eq!(exact_in(&sol_usdc(), Amount::from_base_units(1).unwrap()), Err(PricingError::TooSmall));
        assert_eq!(exact_out(&sol_usdc(), Amount::MAX), Err(PricingError::TooLarge));
        assert!(exact_in(&sol_usdc(), Amount::MAX).is_ok_and(|f| f.price_impact_bps > 9_900));
        // A token worth a fraction of a cent, in millions, is well within range.
        let bonk = Prices { from: Token::Usdc, to: Token::Bonk, price_in: dollars(1.0), price_out: dollars(0.0000213) };
        assert!(exact_in(&bonk, amount("1000000", Token::Usdc)).is_ok());
    }

    #[test]
    fn slippage_bounds_round_against_the_user() {
        assert_eq!(minus_bps(Amount::from_base_units(1_000).unwrap(), 50).base_units(), 995);
        assert_eq!(minus_bps(Amount::from_base_units(999).unwrap(), 50).base_units(), 994);
        assert_eq!(plus_bps(Amount::from_base_units(999).unwrap(), 50).unwrap().base_units(), 1_004);
    }
}
