//! Error responses: the shared `{ "code", "message" }` body with the code's HTTP status.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use solstice_types::ApiError;

/// An [`ApiError`] as an HTTP response.
#[derive(Debug)]
pub struct ErrorResponse(pub ApiError);

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> ErrorResponse {
        ErrorResponse(error)
    }
}

/// Logs a fault of ours with its cause chain and answers generically.
pub fn internal(context: &str, error: &dyn std::error::Error) -> ErrorResponse {
    tracing::error!(error = %error_chain(error), "{context} failed");
    ErrorResponse(ApiError::internal())
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

/// A ledger error as the user sees it: 4xx with its sentence; "unavailable" (the database
/// busy or unreachable: the caller retries with the same key) logged and passed on; other
/// faults logged with their cause (under `context`) and answered generically.
pub fn ledger(context: &str, error: solstice_ledger::LedgerError) -> ErrorResponse {
    let api = error.to_api_error();
    if api.code == solstice_types::ErrorCode::Unavailable {
        tracing::warn!(error = %error_chain(&error), "{context}: temporarily unavailable");
        return ErrorResponse(api);
    }
    if api.code.is_server_fault() {
        return internal(context, &error);
    }
    ErrorResponse(api)
}
