//! What can go wrong on the host's side of a server function. Errors pass with `?` into
//! [`HostError`], and from there into the server function's [`AppError`] through the service
//! kit's one conversion, which logs a fault of ours with its causes and answers generically.

use solstice_kit::error::ErrorResponse;
use solstice_ledger::{LedgerError, database_error};
use solstice_types::{ApiError, ToApiError};

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A refusal already worded for the user (a wrong password, a limit, a malformed field).
    #[error(transparent)]
    User(#[from] ApiError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the database")]
    Database(#[from] mongodb::error::Error),
    #[error("encoding a document")]
    Encode(#[from] mongodb::bson::ser::Error),
    #[error("the session")]
    Session(#[from] tower_sessions::session::Error),
    #[error("reading the request")]
    Request(#[from] leptos::server_fn::error::ServerFnErrorErr),
    #[error("password hashing")]
    Hashing(#[from] argon2::password_hash::Error),
    #[error("waiting for a password-hashing slot")]
    Slot(#[from] tokio::sync::AcquireError),
    #[error("a blocking task")]
    Task(#[from] tokio::task::JoinError),
    #[error("drawing a QR code")]
    Qr(#[from] qrcode::types::QrError),
}

impl ToApiError for HostError {
    fn to_api_error(&self) -> ApiError {
        match self {
            HostError::User(error) => error.clone(),
            HostError::Ledger(error) => error.to_api_error(),
            HostError::Database(error) => database_error(error),
            HostError::Encode(_)
            | HostError::Session(_)
            | HostError::Request(_)
            | HostError::Hashing(_)
            | HostError::Slot(_)
            | HostError::Task(_)
            | HostError::Qr(_) => ApiError::internal(),
        }
    }
}

impl From<HostError> for AppError {
    fn from(error: HostError) -> AppError {
        ErrorResponse::from(error).0.into()
    }
}
