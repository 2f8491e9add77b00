//! Market data: ticks (every token's price at one second) and candles (open, high, low and
//! close over an interval), as the market recorder writes them and everyone else reads them.
//!
//! The types are shared with the browser; the store (the `store` feature) is host-side only.

mod candle;
#[cfg(feature = "store")]
pub mod store;
mod tick;

pub use candle::{Candle, Interval, roll_up};
pub use tick::{MarketKind, MarketTick, TickPrice, Unpriced};
