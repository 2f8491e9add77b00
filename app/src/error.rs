//! The one error type of every server function, shown by one error view.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use solstice_types::{ApiError, ErrorCode};

/// What a server function reports when it fails: a code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError { code, message: message.into() }
    }

    /// Whether the request may have been carried out despite the error (the host or a service
    /// was unavailable, or failed on its side), so that a retry must reuse its idempotency key;
    /// any other error is a definite "no" and ends that submission.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.code, ErrorCode::Unavailable | ErrorCode::Internal)
    }
}

impl From<ApiError> for AppError {
    fn from(error: ApiError) -> AppError {
        AppError { code: error.code, message: error.message }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> AppError {
        match error {
            // On the host, these mean the request's body could not be read or decoded (not UTF-8,
            // say): the sender's mistake.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::new(ErrorCode::InvalidInput, "Some of the form's fields are missing or malformed.")
            }
            // In the browser: it could not reach the host, or got an answer it could not read.
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::new(ErrorCode::Unavailable, "Could not reach Solstice. Check your connection and try again.")
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::new(ErrorCode::InvalidInput, "Some of the form's fields are missing or malformed.")
            }
            _ => ApiError::internal().into(),
        }
    }
}
