//! Server functions for staking, answered by the stake service.

use leptos::prelude::*;
use solstice_types::stake::{StakeAccount, StakeOverview};

use crate::error::AppError;

/// The epoch, the validators and the logged-in wallet's stake accounts.
#[server(endpoint = "my_stakes")]
pub async fn my_stakes() -> Result<StakeOverview, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.services.stake.overview(&wallet).await?)
}

/// Stakes SOL with a validator. `idempotency_key` is chosen by the browser per submission.
#[server(endpoint = "stake_sol")]
pub async fn stake_sol(validator: String, amount: String, idempotency_key: String) -> Result<StakeAccount, AppError> {
    use solstice_types::stake::StakeRequest;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let request = StakeRequest { validator, amount, idempotency_key };
    Ok(state.services.stake.stake(&wallet, &request).await?)
}

/// Unstakes a stake account: it stops earning when the current epoch ends. `idempotency_key`
/// is chosen by the browser per account shown, so that a retry unstakes once.
#[server(endpoint = "unstake")]
pub async fn unstake(address: String, idempotency_key: String) -> Result<StakeAccount, AppError> {
    use solstice_types::stake::UnstakeRequest;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let address = solstice_kit::input::stake_account(&address)?;
    let request = UnstakeRequest { idempotency_key: Some(idempotency_key) };
    Ok(state.services.stake.unstake(&wallet, &address, &request).await?)
}

/// Withdraws an inactive stake account to the wallet.
#[server(endpoint = "withdraw_stake")]
pub async fn withdraw_stake(address: String, idempotency_key: String) -> Result<StakeAccount, AppError> {
    use solstice_types::stake::WithdrawRequest;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let address = solstice_kit::input::stake_account(&address)?;
    let request = WithdrawRequest { idempotency_key };
    Ok(state.services.stake.withdraw(&wallet, &address, &request).await?)
}
