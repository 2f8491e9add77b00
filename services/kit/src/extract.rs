//! Request extractors whose rejections use the shared error shape, with a message a person
//! can act on instead of the framework's default text.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use solstice_types::{ApiError, ErrorCode};

use crate::error::ErrorResponse;

/// A JSON object body; a missing, malformed or mistyped body, or one that is not an object,
/// is a 400 `invalid_input`. (Every request body of the services is an object: serde would
/// otherwise also read a struct from an array of its fields.)
pub struct Json<T>(pub T);

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ErrorResponse;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(invalid("Send the request body as JSON.".to_owned()));
        }
        let Ok(bytes) = axum::body::Bytes::from_request(request, state).await else {
            return Err(invalid("The request body could not be read.".to_owned()));
        };
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first.is_some_and(|byte| *byte != b'{') && serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
            return Err(invalid("The request body must be a JSON object.".to_owned()));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(invalid(match rejection {
                JsonRejection::MissingJsonContentType(_) => "Send the request body as JSON.".to_owned(),
                JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON.".to_owned(),
                JsonRejection::JsonDataError(error) => {
                    format!("The request body is not as expected: {}", error.body_text())
                }
                _ => "The request body could not be read.".to_owned(),
            })),
        }
    }
}

/// Query parameters; unknown values or wrong types are a 400 `invalid_input`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| invalid(format!("The query is not as expected: {}", rejection.body_text())))
    }
}

fn invalid(message: String) -> ErrorResponse {
    ErrorResponse(ApiError::new(ErrorCode::InvalidInput, message))
}
