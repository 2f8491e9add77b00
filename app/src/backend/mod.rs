//! The host-side half of the server functions: accounts, sessions, login limits.

pub mod accounts;
pub mod prices;
pub mod rate_limit;
pub mod session;
mod state;

use leptos::prelude::*;
use solstice_types::ApiError;

pub use state::{AccountsConfig, AppState};

use crate::error::AppError;

/// The host's state, provided to every server function by the host.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState was not provided to the server function");
        ApiError::internal().into()
    })
}
