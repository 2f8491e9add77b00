//! What can go wrong when moving money.

use mongodb::error::{ErrorKind, WriteFailure};
use solstice_types::{ApiError, ErrorCode, ToApiError, Token};

use crate::AccountId;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The request itself is wrong (no legs, a zero amount, an account paying itself, ...).
    #[error("invalid ledger transaction: {0}")]
    Invalid(String),
    #[error("{account} does not hold enough {token}")]
    InsufficientFunds { account: AccountId, token: Token },
    /// The idempotency key was already used for a different request.
    #[error("idempotency key {0} was already used for a different request")]
    IdempotencyConflict(String),
    /// A write that had to go with the money movement found its document changed.
    #[error("precondition failed in {0}")]
    Precondition(String),
    /// Another transaction already did what this one would ([`crate::TransactionRequest::once`]).
    #[error("{0} was already done by another transaction")]
    AlreadyDone(String),
    /// Contention did not clear within the retry budget; nothing was applied.
    #[error("the ledger is too busy, nothing was applied")]
    Busy,
    #[error("database error")]
    Database(#[from] mongodb::error::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl ToApiError for LedgerError {
    /// The error as a user should see it: 4xx with a plain sentence, 5xx generic.
    fn to_api_error(&self) -> ApiError {
        match self {
            LedgerError::Invalid(reason) => ApiError::new(ErrorCode::InvalidInput, reason.clone()),
            LedgerError::InsufficientFunds { token, .. } => ApiError::new(
                ErrorCode::InsufficientFunds,
                format!("Insufficient {token} balance for this transaction."),
            ),
            LedgerError::IdempotencyConflict(_) => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "This request was already submitted with different details. Start a new one.",
            ),
            LedgerError::Precondition(_) => {
                ApiError::new(ErrorCode::Conflict, "This changed while we were working on it. Refresh and try again.")
            }
            LedgerError::AlreadyDone(_) => ApiError::new(ErrorCode::Conflict, "This was already done."),
            LedgerError::Busy => ApiError::unavailable(),
            // The database unreachable or failing over: whether the transaction committed is
            // settled by retrying with the same key, which the caller may do.
            LedgerError::Database(error) => database_error(error),
            LedgerError::Corrupt(_) => ApiError::internal(),
        }
    }
}

/// Whether a database error is about reaching the database rather than the request: the
/// network, server selection, a primary stepping down, or an error the server labels as worth
/// retrying.
pub fn is_transient(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{RETRYABLE_WRITE_ERROR, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
    matches!(
        *error.kind,
        ErrorKind::Io(_) | ErrorKind::ServerSelection { .. } | ErrorKind::ConnectionPoolCleared { .. }
    ) || [TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT, RETRYABLE_WRITE_ERROR]
        .iter()
        .any(|label| error.contains_label(label))
}

/// A database error as a user should see it: "unavailable" (retry, with the same key) when it
/// is about reaching the database, a fault of ours otherwise. For every service's own reads
/// and writes as for the ledger's.
pub fn database_error(error: &mongodb::error::Error) -> ApiError {
    if is_transient(error) { ApiError::unavailable() } else { ApiError::internal() }
}

fn server_code(error: &mongodb::error::Error) -> Option<i32> {
    match &*error.kind {
        ErrorKind::Write(WriteFailure::WriteError(e)) => Some(e.code),
        ErrorKind::Command(e) => Some(e.code),
        // An unordered `insert_many` whose every refused document was refused for one reason.
        ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
            let mut codes = failure.write_errors.iter().flatten().map(|e| e.code);
            let first = codes.next()?;
            codes.all(|code| code == first).then_some(first)
        }
        _ => None,
    }
}

/// Whether a MongoDB error is a unique-index violation (duplicate key, code 11000); for an
/// unordered `insert_many`, whether every document it refused was a duplicate.
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    server_code(error) == Some(11000)
}

/// Whether a write lost a race with another transaction (code 112); it may be redone.
pub(crate) fn is_write_conflict(error: &mongodb::error::Error) -> bool {
    server_code(error) == Some(112)
}
