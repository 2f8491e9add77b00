//! Everything that can go wrong with a transfer, each with the sentence its user reads.

use axum::response::{IntoResponse, Response};
use solstice_kit::error::ErrorResponse;
use solstice_ledger::{LedgerError, database_error};
use solstice_types::{AddressError, ApiError, ErrorCode, Reference, ToApiError, Token, transfer::MemoError};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A field that did not parse (token, amount, key, reference, page size).
    #[error(transparent)]
    Input(#[from] ApiError),
    #[error(transparent)]
    InvalidAddress(#[from] AddressError),
    #[error("You cannot send to your own wallet.")]
    ToSelf,
    #[error(transparent)]
    Memo(#[from] MemoError),
    /// Sending to an address that is no Solstice wallet.
    #[error("No Solstice wallet has this address. Check it with the recipient.")]
    UnknownRecipient,
    /// Looking up an address that is no Solstice wallet.
    #[error("No Solstice wallet has this address.")]
    NoSuchWallet,
    #[error("Your {0} balance is too low for this transfer.")]
    InsufficientFunds(Token),
    #[error("You have no transfer {0}.")]
    NotFound(Reference),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error("the user store")]
    Store(#[from] mongodb::error::Error),
    #[error("transfer record {0} is corrupt")]
    Corrupt(Reference),
}

impl From<LedgerError> for TransferError {
    fn from(error: LedgerError) -> TransferError {
        match error {
            LedgerError::InsufficientFunds { token, .. } => TransferError::InsufficientFunds(token),
            other => TransferError::Ledger(other),
        }
    }
}

impl ToApiError for TransferError {
    fn to_api_error(&self) -> ApiError {
        let code = match self {
            TransferError::Input(error) => return error.clone(),
            TransferError::Ledger(error) => return error.to_api_error(),
            TransferError::Store(error) => return database_error(error),
            TransferError::InvalidAddress(_) => ErrorCode::InvalidAddress,
            TransferError::ToSelf | TransferError::Memo(_) => ErrorCode::InvalidInput,
            TransferError::UnknownRecipient => ErrorCode::UnknownRecipient,
            TransferError::NoSuchWallet | TransferError::NotFound(_) => ErrorCode::NotFound,
            TransferError::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
            TransferError::Corrupt(_) => ErrorCode::Internal,
        };
        ApiError::new(code, self.to_string())
    }
}

impl IntoResponse for TransferError {
    fn into_response(self) -> Response {
        ErrorResponse::from(self).into_response()
    }
}
