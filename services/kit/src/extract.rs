//! Request extractors whose rejections use the shared error shape, with a message a person
//! can act on instead of the framework's default text.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use solstice_types::{ApiError, ErrorCode};

use crate::error::ErrorResponse;

/// A JSON body; a missing, malformed or mistyped body is a 400 `invalid_input`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ErrorResponse;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
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
