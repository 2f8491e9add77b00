//! Ticks: every token's price at one second, as the market recorder takes them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use solstice_types::{Token, UsdPrice};

/// Where a deployment's prices come from. One store only ever holds one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketKind {
    /// Public exchanges' live prices.
    Live,
    /// The simulated market, for offline use: labelled as such wherever prices are shown.
    Simulated,
}

impl MarketKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            MarketKind::Live => "live",
            MarketKind::Simulated => "simulated",
        }
    }

    /// For people.
    pub const fn label(self) -> &'static str {
        match self {
            MarketKind::Live => "Live market",
            MarketKind::Simulated => "Simulated market",
        }
    }
}

/// One token's price in a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickPrice {
    pub token: Token,
    /// The combined price of the sources that had a fresh one.
    pub price: UsdPrice,
    /// The price 24 hours before the tick, when the store knows it.
    pub open_24h: Option<UsdPrice>,
    /// The sources disagreed beyond the bound: shown, but nothing is quoted or filled at it.
    pub suspect: bool,
    /// The sources the price was combined from, by name ("kraken", "coinbase", "simulated").
    pub sources: Vec<String>,
}

impl TickPrice {
    /// Change over the last 24 hours, in basis points.
    pub fn change_24h_bps(&self) -> Option<i64> {
        self.open_24h.map(|then| self.price.change_bps_since(then))
    }
}

/// Every token's price at one moment, numbered in the order the recorder wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketTick {
    /// Increases by one with every tick written, across recorder fail-overs.
    pub seq: u64,
    /// The lease term of the recorder that wrote it (see the recorder's lease).
    pub term: u64,
    /// When the prices were combined, in Unix milliseconds.
    pub at_ms: i64,
    pub market: MarketKind,
    /// Tokens without a fresh price from any source are absent.
    pub prices: Vec<TickPrice>,
}

/// Why a token has no price to trade at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unpriced {
    /// No tick at all yet, or the latest is older than the freshness bound.
    #[error("prices are stale")]
    Stale,
    /// The latest tick has no price for the token (no source had a fresh one).
    #[error("no fresh price for {0}")]
    Missing(Token),
    /// The sources disagree about the token's price.
    #[error("the sources disagree about {0}")]
    Suspect(Token),
}

impl MarketTick {
    pub fn price(&self, token: Token) -> Option<&TickPrice> {
        self.prices.iter().find(|price| price.token == token)
    }

    /// How old the tick is at `now_ms`.
    pub fn age_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.at_ms).max(0)
    }

    pub fn is_fresh(&self, now_ms: i64, freshness: Duration) -> bool {
        self.age_ms(now_ms) <= freshness.as_millis() as i64
    }

    /// The price of `token` to trade at: from a fresh tick, and one the sources agree on.
    pub fn tradable(&self, token: Token, now_ms: i64, freshness: Duration) -> Result<UsdPrice, Unpriced> {
        if !self.is_fresh(now_ms, freshness) {
            return Err(Unpriced::Stale);
        }
        let price = self.price(token).ok_or(Unpriced::Missing(token))?;
        if price.suspect {
            return Err(Unpriced::Suspect(token));
        }
        Ok(price.price)
    }

    /// Every source that contributed a price, by name, sorted.
    pub fn sources(&self) -> Vec<String> {
        let mut sources: Vec<String> = self.prices.iter().flat_map(|price| price.sources.iter().cloned()).collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(at_ms: i64, suspect: bool) -> MarketTick {
        MarketTick {
            seq: 1,
            term: 1,
            at_ms,
            market: MarketKind::Live,
            prices: vec![TickPrice {
                token: Token::Sol,
                price: UsdPrice::from_picodollars(150_000_000_000_000),
                open_24h: Some(UsdPrice::from_picodollars(100_000_000_000_000)),
                suspect,
                sources: vec!["kraken".into(), "coinbase".into()],
            }],
        }
    }

    #[test]
    fn only_a_fresh_agreed_price_is_tradable() {
        let fresh = Duration::from_secs(10);
        assert!(tick(0, false).tradable(Token::Sol, 10_000, fresh).is_ok());
        assert_eq!(tick(0, false).tradable(Token::Sol, 10_001, fresh), Err(Unpriced::Stale));
        assert_eq!(tick(0, false).tradable(Token::Jup, 1, fresh), Err(Unpriced::Missing(Token::Jup)));
        assert_eq!(tick(0, true).tradable(Token::Sol, 1, fresh), Err(Unpriced::Suspect(Token::Sol)));
    }

    #[test]
    fn a_tick_tells_its_sources_and_changes() {
        let tick = tick(0, false);
        assert_eq!(tick.sources(), ["coinbase", "kraken"]);
        assert_eq!(tick.prices[0].change_24h_bps(), Some(5_000));
    }
}
