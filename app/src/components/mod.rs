//! Pieces shared by several pages.

pub mod account_notice;
pub mod auth;
pub mod balances;
pub mod copy;
pub mod errors;
pub mod format;
pub mod layout;
pub mod live_prices;
pub mod load_more;
pub mod price_chart;
