//! The one table of error codes shared by the host and every service.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. Each has one HTTP status; the body of every error
/// response anywhere in Solstice is an [`ApiError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or a field is invalid.
    InvalidInput,
    /// The amount is not valid for the token (format, decimals, zero, bounds).
    InvalidAmount,
    /// The token is not in the registry.
    UnknownToken,
    /// The wallet address is malformed.
    InvalidAddress,
    /// The paying account does not hold enough of the token.
    InsufficientFunds,
    /// The recipient's address is well formed but is not a wallet on this platform.
    UnknownRecipient,
    /// The exchange cannot fill an order of this size right now.
    InsufficientLiquidity,
    /// The swap quote's time ran out before it was executed.
    QuoteExpired,
    /// The price moved past the slippage tolerance since the quote.
    PriceMoved,
    /// The price feed has no fresh price, so nothing is quoted or filled.
    PriceStale,
    /// Wallet address or password is wrong (deliberately not saying which).
    InvalidCredentials,
    /// Too many attempts; try again later.
    RateLimited,
    /// The caller is not logged in or not authorised.
    Unauthorized,
    /// The request is not allowed (for example, it came from another site).
    Forbidden,
    /// The request's body is larger than any legitimate one.
    TooLarge,
    /// The thing asked for does not exist (or is not the caller's).
    NotFound,
    /// The thing changed while the request was being handled; refresh and retry.
    Conflict,
    /// An idempotency key was reused for a different request.
    IdempotencyConflict,
    /// A dependency (database, another service) is unavailable; retrying may help.
    Unavailable,
    /// Something went wrong on our side; details are in the server log, never in the body.
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput
            | ErrorCode::InvalidAmount
            | ErrorCode::UnknownToken
            | ErrorCode::InvalidAddress => 400,
            ErrorCode::InvalidCredentials | ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::TooLarge => 413,
            ErrorCode::Conflict | ErrorCode::IdempotencyConflict | ErrorCode::QuoteExpired | ErrorCode::PriceMoved => {
                409
            }
            ErrorCode::InsufficientFunds | ErrorCode::UnknownRecipient | ErrorCode::InsufficientLiquidity => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable | ErrorCode::PriceStale => 503,
        }
    }

    /// The stable name, as it appears in the `code` field of error bodies.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::InvalidAmount => "invalid_amount",
            ErrorCode::UnknownToken => "unknown_token",
            ErrorCode::InvalidAddress => "invalid_address",
            ErrorCode::InsufficientFunds => "insufficient_funds",
            ErrorCode::UnknownRecipient => "unknown_recipient",
            ErrorCode::InsufficientLiquidity => "insufficient_liquidity",
            ErrorCode::QuoteExpired => "quote_expired",
            ErrorCode::PriceMoved => "price_moved",
            ErrorCode::PriceStale => "price_stale",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether the fault is the server's (5xx): logged with its cause, answered generically.
    pub const fn is_server_fault(self) -> bool {
        self.status() >= 500
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The body of every error response: `{ "code": "insufficient_funds", "message": "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    /// A sentence a person understands. Never internal details.
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }

    /// The generic answer to a fault of ours.
    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::Internal, "Something went wrong on our side. Please try again.")
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(ErrorCode::Unavailable, "The service is temporarily unavailable. Please try again in a moment.")
    }
}

/// An error that knows how a person should see it: one code from the table and one sentence.
///
/// Each service's error enum implements it, so every user-facing message is written once, in
/// the enum; the service kit turns any such error into the response (and logs faults of ours
/// with their causes), so errors pass with `?` from the database up to the handler.
pub trait ToApiError: std::error::Error {
    /// The code and sentence for the user. For `internal` the message is never shown: the
    /// answer is generic and this error's chain goes to the log.
    fn to_api_error(&self) -> ApiError;
}

impl ToApiError for ApiError {
    fn to_api_error(&self) -> ApiError {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_the_table() {
        let all = [
            ErrorCode::InvalidInput,
            ErrorCode::InvalidAmount,
            ErrorCode::UnknownToken,
            ErrorCode::InvalidAddress,
            ErrorCode::InsufficientFunds,
            ErrorCode::UnknownRecipient,
            ErrorCode::InsufficientLiquidity,
            ErrorCode::QuoteExpired,
            ErrorCode::PriceMoved,
            ErrorCode::PriceStale,
            ErrorCode::InvalidCredentials,
            ErrorCode::RateLimited,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::TooLarge,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::IdempotencyConflict,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ];
        for code in all {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.name()));
            assert!((400..600).contains(&code.status()));
        }
    }
}
