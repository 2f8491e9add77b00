//! The logged-in wallet, kept in the server-side session.

use std::net::IpAddr;

use axum::Extension;
use solstice_types::{ApiError, ErrorCode, WalletAddress};
use tower_sessions::Session;

use super::error::HostError;

const WALLET: &str = "wallet";
/// When the wallet logged in, in Unix seconds: a session ends a fixed time after it, however
/// active (`HostConfig::session_lifetime`), so that a stolen session cookie does not last for
/// as long as someone keeps using it.
const LOGGED_IN_AT: &str = "logged_in_at";
/// When the session was last seen in use, in Unix seconds.
const SEEN: &str = "seen";
/// How often an active session's idle expiry is moved forward. Saving the session on every
/// request would add a database write to each; once a minute keeps the idle timeout exact to
/// the minute at a fraction of the cost.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The client's IP address as the host determined it (honouring proxy headers only when
/// configured to), put in each request's extensions by the host.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

async fn session() -> Result<Session, HostError> {
    Ok(leptos_axum::extract::<Session>().await?)
}

/// Binds the session to `wallet`, under a new session id so that an id planted before
/// log-in is worthless after it.
pub async fn log_in(wallet: &WalletAddress) -> Result<(), HostError> {
    let session = session().await?;
    session.cycle_id().await?;
    session.insert(LOGGED_IN_AT, chrono::Utc::now().timestamp()).await?;
    Ok(session.insert(WALLET, wallet).await?)
}

/// Deletes the session.
pub async fn log_out() -> Result<(), HostError> {
    Ok(session().await?.flush().await?)
}

/// The wallet this session is logged in as, if any. Marks the session as in use (see
/// [`TOUCH_EVERY_SECONDS`]); ends it once its lifetime is over.
pub async fn current_wallet() -> Result<Option<WalletAddress>, HostError> {
    // Without the host's settings (never, in a running host) the session is treated as over.
    let lifetime = leptos::prelude::use_context::<super::HostState>()
        .map_or(std::time::Duration::ZERO, |state| state.config.session_lifetime);
    wallet_of(&session().await?, lifetime).await
}

/// The wallet `session` is logged in as, if any, for routes outside the server functions.
/// Marks the session as in use; ends it once `lifetime` after log-in has passed.
pub async fn wallet_of(session: &Session, lifetime: std::time::Duration) -> Result<Option<WalletAddress>, HostError> {
    let wallet = session.get::<WalletAddress>(WALLET).await?;
    if wallet.is_some() {
        let now = chrono::Utc::now().timestamp();
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        match session.get::<i64>(LOGGED_IN_AT).await? {
            Some(logged_in_at) if now.saturating_sub(logged_in_at) >= lifetime => {
                session.flush().await?;
                return Ok(None);
            }
            Some(_) => {}
            // A session from before sessions had a lifetime: it starts now.
            None => session.insert(LOGGED_IN_AT, now).await?,
        }
        let seen = session.get::<i64>(SEEN).await?;
        if seen.is_none_or(|seen| now - seen >= TOUCH_EVERY_SECONDS) {
            // Changing the session makes the session layer save it with a new expiry.
            session.insert(SEEN, now).await?;
        }
    }
    Ok(wallet)
}

/// Whether `session`, read afresh from the store, is still logged in as `wallet`: a log-out
/// (in any tab, on any host), an expiry, the end of its `lifetime` or another log-in ends it.
/// Changes nothing.
pub async fn still_logged_in(session: &Session, wallet: &WalletAddress, lifetime: std::time::Duration) -> bool {
    if session.load().await.is_err()
        || session.get::<WalletAddress>(WALLET).await.ok().flatten().as_ref() != Some(wallet)
    {
        return false;
    }
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let logged_in_at = session.get::<i64>(LOGGED_IN_AT).await.ok().flatten();
    logged_in_at.is_some_and(|at| chrono::Utc::now().timestamp().saturating_sub(at) < lifetime)
}

/// The wallet this session is logged in as, or an "unauthorized" error.
pub async fn require_wallet() -> Result<WalletAddress, HostError> {
    match current_wallet().await? {
        Some(wallet) => Ok(wallet),
        None => Err(ApiError::new(ErrorCode::Unauthorized, "Please log in to continue.").into()),
    }
}

/// The client's IP address, for the log-in limits.
pub async fn client_ip() -> Option<IpAddr> {
    leptos_axum::extract::<Extension<ClientIp>>().await.ok().and_then(|Extension(ClientIp(ip))| ip)
}
