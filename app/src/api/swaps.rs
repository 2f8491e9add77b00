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
    Ok(state.services.swap.quote(&wallet, &request).await?)
}

/// Executes a quote. `idempotency_key` is chosen by the browser per swap, so that a retried
/// submission never swaps twice.
#[server(endpoint = "execute_swap")]
pub async fn execute_swap(quote_id: String, idempotency_key: String) -> Result<Swap, AppError> {
    use solstice_types::swap::ExecuteSwap;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.services.swap.execute(&wallet, &ExecuteSwap { quote_id, idempotency_key }).await?)
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
    use crate::backend::{self, day_start_ms, services::SwapFilter};
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let day = |text: Option<String>| text.filter(|day| !day.is_empty()).map(|day| day_start_ms(&day)).transpose();
    let filter = SwapFilter {
        token: token.filter(|token| !token.is_empty()),
        since_ms: day(from_date)?,
        until_ms: day(to_date)?.map(|start| start + 86_400_000),
        before,
    };
    Ok(state.services.swap.history(&wallet, filter).await?)
}

/// One of the logged-in wallet's swaps, by reference number.
#[server(endpoint = "my_swap")]
pub async fn my_swap(reference: String) -> Result<Swap, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let reference = solstice_kit::input::reference(&reference)?;
    Ok(state.services.swap.swap(&wallet, &reference).await?)
}
