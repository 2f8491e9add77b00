//! The host-side half of the server functions: accounts, sessions, login limits.

pub mod accounts;
pub mod activity;
pub mod api_keys;
pub mod error;
pub mod events;
pub mod prices;
pub mod qr;
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

/// The page's Content Security Policy: scripts only with this response's nonce (the hydration
/// script, and what it loads: `'strict-dynamic'`), WebAssembly compiled from the site's own
/// files, everything else from the site itself, no inline styles, no framing, no plugins.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sets the page's Content Security Policy with the nonce Leptos gave this response's inline
/// scripts. Called by the shell while it renders.
pub fn send_content_security_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(policy) = axum::http::HeaderValue::from_str(&content_security_policy(&nonce)) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// The start of a UTC day given as `YYYY-MM-DD`, in Unix milliseconds.
pub fn day_start_ms(day: &str) -> Result<i64, AppError> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc().timestamp_millis())
        .ok_or_else(|| ApiError::new(solstice_types::ErrorCode::InvalidInput, "Enter dates as YYYY-MM-DD.").into())
}
