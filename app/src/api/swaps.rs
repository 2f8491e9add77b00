//! Server functions for the exchange, answered by the swap service.

use leptos::prelude::*;
use solstice_types::swap::{Quote, Swap, SwapPage, SwapSide};

use crate::error::AppError;

/// A firm quote for swapping `amount` (of `from` for exact-in, of `to` for exact-out).
#[server(endpoint = "swap_quote")]
pub async fn swap_quote(
    from: String,
    to: String,
    amount: String,
    side: SwapSide,
    slippage_bps: u32,
) -> Result<Quote, AppError> {
    use solstice_types::swap::QuoteRequest;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let request = QuoteRequest { from, to, amount, side, slippage_bps: Some(slippage_bps) };
    Ok(state.services.swap.post("/v1/quotes", &wallet, &request).await?)
}

/// Executes a quote. `idempotency_key` is chosen by the browser per swap, so that a retried
/// submission never swaps twice.
#[server(endpoint = "execute_swap")]
pub async fn execute_swap(quote_id: String, idempotency_key: String) -> Result<Swap, AppError> {
    use solstice_types::swap::ExecuteSwap;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.services.swap.post("/v1/swaps", &wallet, &ExecuteSwap { quote_id, idempotency_key }).await?)
}

/// A page of the logged-in wallet's swaps, newest first, optionally of one token and between
/// two dates (`YYYY-MM-DD`, both days included, UTC).
#[server(endpoint = "my_swaps")]
pub async fn my_swaps(
    token: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    before: Option<String>,
) -> Result<SwapPage, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(token) = token.filter(|token| !token.is_empty()) {
        query.push(("token", token));
    }
    if let Some(day) = from_date.filter(|day| !day.is_empty()) {
        query.push(("since", backend::day_start_ms(&day)?.to_string()));
    }
    if let Some(day) = to_date.filter(|day| !day.is_empty()) {
        query.push(("until", (backend::day_start_ms(&day)? + 86_400_000).to_string()));
    }
    if let Some(before) = before {
        query.push(("before", before));
    }
    Ok(state.services.swap.get_with_query("/v1/swaps", &query, &wallet).await?)
}

/// One of the logged-in wallet's swaps, by reference number.
#[server(endpoint = "my_swap")]
pub async fn my_swap(reference: String) -> Result<Swap, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let reference = solstice_service::input::reference(&reference)?;
    Ok(state.services.swap.get(&format!("/v1/swaps/{reference}"), &wallet).await?)
}
