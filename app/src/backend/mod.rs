//! The host-side half of the server functions: accounts, sessions, login limits.

pub mod accounts;
pub mod rate_limit;
pub mod session;
mod state;

use axum::http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
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

/// Turns a backend result into a server function result, giving the HTTP response the
/// status that belongs to the error's code.
pub fn respond<T>(result: Result<T, ApiError>) -> Result<T, AppError> {
    result.map_err(|error| {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
        error.into()
    })
}
