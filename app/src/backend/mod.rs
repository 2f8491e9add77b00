//! The host-side half of the server functions: accounts, sessions, login limits.

pub mod accounts;
pub mod error;
pub mod prices;
pub mod rate_limit;
pub mod services;
pub mod session;
mod state;

use leptos::prelude::*;
use solstice_types::ApiError;

pub use state::{HostConfig, HostState};

use crate::error::AppError;

/// The host's state, provided to every server function by the host.
pub fn state() -> Result<HostState, AppError> {
    use_context::<HostState>().ok_or_else(|| {
        tracing::error!("HostState was not provided to the server function");
        ApiError::internal().into()
    })
}

/// The start of a UTC day given as `YYYY-MM-DD`, in Unix milliseconds.
pub fn day_start_ms(day: &str) -> Result<i64, AppError> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc().timestamp_millis())
        .ok_or_else(|| ApiError::new(solstice_types::ErrorCode::InvalidInput, "Enter dates as YYYY-MM-DD.").into())
}
