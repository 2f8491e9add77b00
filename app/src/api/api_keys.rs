//! Server functions for the logged-in wallet's personal API keys (the API keys page). Keys are
//! made, listed and revoked only here, with the session: a key cannot make or revoke keys.

use leptos::prelude::*;
use solstice_types::api_key::{ApiKeyInfo, CreatedApiKey};

use crate::error::AppError;

/// The logged-in wallet's API keys, newest first.
#[server(endpoint = "my_api_keys")]
pub async fn my_api_keys() -> Result<Vec<ApiKeyInfo>, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.api_keys.list(&wallet).await?)
}

/// Makes an API key for the logged-in wallet. `scopes`: scope names separated by commas;
/// `expires_in_days`: a number of days, or empty for a key that never expires. The answer holds
/// the key itself, which is shown this once.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(name: String, scopes: String, expires_in_days: String) -> Result<CreatedApiKey, AppError> {
    use solstice_types::{ApiError, ErrorCode, api_key::Scope};

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let scopes = scopes
        .split(',')
        .map(str::trim)
        .filter(|scope| !scope.is_empty())
        .map(|scope| {
            Scope::parse(scope).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidInput, "A scope must be one of: read, trade, transfer, stake.")
            })
        })
        .collect::<Result<Vec<Scope>, ApiError>>()?;
    let expires = expires_in_days.trim();
    let expires_in_days = if expires.is_empty() || expires == "never" {
        None
    } else {
        Some(expires.parse::<u32>().map_err(|_| {
            ApiError::new(ErrorCode::InvalidInput, "Choose when the key expires: a number of days, or never.")
        })?)
    };
    Ok(state.api_keys.create(&wallet, &name, &scopes, expires_in_days).await?)
}

/// Revokes one of the logged-in wallet's keys: it is refused from the next request on.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    state.api_keys.revoke(&wallet, id.trim()).await?;
    Ok(())
}
