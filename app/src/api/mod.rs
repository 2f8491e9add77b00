//! Server functions: what the browser can ask of the host. Each is a thin shell around a
//! plain function or a typed service client in [`crate::backend`].

use leptos::prelude::*;
use solstice_market::{Candle, Interval};
use solstice_types::{
    Token,
    portfolio::{Portfolio, ValueHistory},
};

use crate::{
    error::AppError,
    model::{FaucetBudget, Me, PriceTick, SignedUp},
};

pub mod activity;
pub mod api_keys;
pub mod stake;
pub mod swaps;
pub mod transfers;

/// The largest initial SOL balance a new account may choose, and what the faucet can still
/// give the visitor's network today.
#[server(endpoint = "faucet_allowance")]
pub async fn faucet_allowance() -> Result<FaucetBudget, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let client = backend::session::client_ip().await;
    let left_today = state.limiter.faucet_left(client).await?;
    Ok(FaucetBudget { per_wallet: state.config.max_initial_sol, left_today })
}

/// Creates a wallet with the chosen password and initial SOL, and logs it in.
#[server(endpoint = "sign_up")]
pub async fn sign_up(password: String, confirm_password: String, initial_sol: String) -> Result<SignedUp, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let client = backend::session::client_ip().await;
    let signed_up = backend::accounts::sign_up(&state, &password, &confirm_password, &initial_sol, client).await?;
    backend::session::log_in(&signed_up.address).await?;
    Ok(signed_up)
}

/// Logs in with a wallet address and password, then goes to the wallet.
#[server(endpoint = "log_in")]
pub async fn log_in(address: String, password: String) -> Result<Me, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let client = backend::session::client_ip().await;
    let wallet = backend::accounts::log_in(&state, &address, &password, client).await?;
    let me = backend::accounts::me(&state, wallet).await?;
    backend::session::log_in(&me.address).await?;
    leptos_axum::redirect("/");
    Ok(me)
}

/// Ends the session, then goes to the log-in page.
#[server(endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    crate::backend::session::log_out().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The logged-in user, or `None` for a visitor.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::backend;
    let state = backend::state()?;
    match backend::session::current_wallet().await? {
        Some(wallet) => Ok(Some(backend::accounts::me(&state, wallet).await?)),
        None => Ok(None),
    }
}

/// The latest prices, for the first render (the websocket takes over after hydration).
#[server(endpoint = "market_snapshot")]
pub async fn market_snapshot() -> Result<PriceTick, AppError> {
    let state = crate::backend::state()?;
    Ok(state.prices.snapshot())
}

/// A token's candles for a chart: the last [`Interval::chart_len`] intervals, oldest first.
#[server(endpoint = "price_history")]
pub async fn price_history(token: Token, interval: Interval) -> Result<Vec<Candle>, AppError> {
    let state = crate::backend::state()?;
    Ok(state.prices.history(token, interval).await?)
}

/// The logged-in wallet's value over `range` (`24h`, `7d`, `30d` or `all`), staked SOL
/// included, and what each holding cost, from the portfolio service.
#[server(endpoint = "my_value_history")]
pub async fn my_value_history(range: String) -> Result<ValueHistory, AppError> {
    use solstice_types::{ApiError, ErrorCode, portfolio::ValueRange};
    let state = crate::backend::state()?;
    let wallet = crate::backend::session::require_wallet().await?;
    let range = ValueRange::parse(&range)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "The range must be one of: 24h, 7d, 30d, all."))?;
    Ok(state.services.portfolio.history(&wallet, range).await?)
}

/// The logged-in wallet's holdings valued at live prices, from the portfolio service.
#[server(endpoint = "my_portfolio")]
pub async fn my_portfolio() -> Result<Portfolio, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.services.portfolio.portfolio(&wallet).await?)
}
