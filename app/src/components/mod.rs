//! Pieces shared by several pages.

pub mod auth;
pub mod copy;
pub mod format;
pub mod layout;
pub mod live_prices;
pub mod price_chart;
