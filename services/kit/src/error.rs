//! Error responses: the shared `{ "code", "message" }` body with the code's HTTP status.
//!
//! A handler returns its service's error enum; anything that implements [`ToApiError`] becomes
//! an [`ErrorResponse`] through the one `From` below, which is also the one place where faults
//! of ours are logged (with their cause chain) and replaced by a generic answer.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use solstice_types::{ApiError, ErrorCode, ToApiError};

/// An error as an HTTP response. Built only from a [`ToApiError`], so it never carries
/// internal details.
#[derive(Debug)]
pub struct ErrorResponse(pub ApiError);

impl<E: ToApiError> From<E> for ErrorResponse {
    fn from(error: E) -> ErrorResponse {
        let api = error.to_api_error();
        match api.code {
            ErrorCode::Internal => {
                tracing::error!(error = %error_chain(&error), "request failed");
                ErrorResponse(ApiError::internal())
            }
            // The database busy or unreachable: the caller retries with the same key.
            ErrorCode::Unavailable => {
                tracing::warn!(error = %error_chain(&error), "temporarily unavailable");
                ErrorResponse(api)
            }
            _ => ErrorResponse(api),
        }
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

/// An error and its causes, as one line for the log.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading quotes")]
    struct Fault(#[source] std::io::Error);

    impl ToApiError for Fault {
        fn to_api_error(&self) -> ApiError {
            ApiError::new(ErrorCode::Internal, "secret detail")
        }
    }

    #[test]
    fn a_fault_of_ours_is_answered_generically_and_user_errors_keep_their_sentence() {
        let fault = ErrorResponse::from(Fault(std::io::Error::other("disk on fire")));
        assert_eq!(fault.0, ApiError::internal());
        assert_eq!(error_chain(&Fault(std::io::Error::other("disk on fire"))), "reading quotes: disk on fire");
        let mistake = ErrorResponse::from(ApiError::new(ErrorCode::InvalidAmount, "Enter an amount."));
        assert_eq!(mistake.0.message, "Enter an amount.");
        assert_eq!(mistake.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
