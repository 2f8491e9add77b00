//! Market data: where prices come from and how they are summarised for charts.
//!
//! Prices come from a [`PriceFeed`]. The default, [`SimulatedMarket`], is a pure function of
//! a seed and the time: every replica of every service computes the same price for the same
//! second without talking to the others, and it runs with no network at all.

mod candle;
mod simulated;

pub use candle::{Candle, Interval, roll_up};
pub use simulated::SimulatedMarket;
use solstice_types::{Token, UsdPrice};

/// A source of prices for every token in the registry.
pub trait PriceFeed: Send + Sync + 'static {
    /// The price of `token` at `unix_second`. A feed that has no price for that moment (a
    /// real exchange that is unreachable) says so rather than inventing one.
    fn price_at(&self, token: Token, unix_second: i64) -> Result<UsdPrice, FeedError>;
}

/// The feed has no price for the moment asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no price for {token} at {unix_second}")]
pub struct FeedError {
    pub token: Token,
    pub unix_second: i64,
}
