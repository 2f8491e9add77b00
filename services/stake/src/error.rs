//! Everything that can go wrong with staking, each with the sentence its user reads.

use axum::response::{IntoResponse, Response};
use solstice_kit::error::ErrorResponse;
use solstice_ledger::{LedgerError, database_error};
use solstice_types::{Amount, ApiError, ErrorCode, ToApiError, stake::MIN_STAKE_LAMPORTS};

#[derive(Debug, thiserror::Error)]
pub enum StakeError {
    /// A field that did not parse (amount, key).
    #[error(transparent)]
    Input(#[from] ApiError),
    #[error("Choose one of the listed validators.")]
    UnknownValidator,
    #[error("Stake at least {} SOL.", minimum_stake())]
    BelowMinimum,
    /// The wallet is short of what it asked to stake.
    #[error("Your SOL balance is too low to stake this much.")]
    InsufficientFunds,
    /// The wallet holds as many stake accounts not yet withdrawn as it may (the limit).
    #[error("You have {0} open stake accounts. Withdraw some before opening more.")]
    TooManyAccounts(u32),
    /// Another stake of the same wallet is being opened and did not finish in time.
    #[error("Another stake of yours is being opened. Try again in a moment.")]
    Busy,
    #[error("You have no stake account with this address.")]
    NotFound,
    #[error("This stake is already unstaked.")]
    AlreadyUnstaked,
    #[error("This stake was already withdrawn.")]
    AlreadyWithdrawn,
    #[error("Only inactive stake can be withdrawn. Unstake it first; it becomes inactive when the epoch ends.")]
    StillActive,
    #[error("This stake is still deactivating. You can withdraw it once the current epoch ends.")]
    StillDeactivating,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the stake account store")]
    Store(#[from] mongodb::error::Error),
    #[error("recording a stake account")]
    Encode(#[from] mongodb::bson::ser::Error),
}

fn minimum_stake() -> String {
    Amount::from_base_units(MIN_STAKE_LAMPORTS).expect("a valid amount").format_display(9, 9)
}

impl ToApiError for StakeError {
    fn to_api_error(&self) -> ApiError {
        let code = match self {
            StakeError::Input(error) => return error.clone(),
            StakeError::Ledger(error) => return error.to_api_error(),
            StakeError::Store(error) => return database_error(error),
            StakeError::UnknownValidator => ErrorCode::InvalidInput,
            StakeError::BelowMinimum => ErrorCode::InvalidAmount,
            StakeError::InsufficientFunds => ErrorCode::InsufficientFunds,
            StakeError::NotFound => ErrorCode::NotFound,
            StakeError::AlreadyUnstaked
            | StakeError::Busy
            | StakeError::TooManyAccounts(_)
            | StakeError::AlreadyWithdrawn
            | StakeError::StillActive
            | StakeError::StillDeactivating => ErrorCode::Conflict,
            StakeError::Encode(_) => ErrorCode::Internal,
        };
        ApiError::new(code, self.to_string())
    }
}

impl IntoResponse for StakeError {
    fn into_response(self) -> Response {
        ErrorResponse::from(self).into_response()
    }
}
