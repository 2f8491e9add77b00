//! Calling a service from the host: signed requests, timeouts, errors in the shared shape.

use std::time::Duration;

use serde::de::DeserializeOwned;
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use crate::auth::{ServiceSecret, sign};

/// A client for one service.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    name: &'static str,
    base_url: String,
    secret: ServiceSecret,
    http: reqwest::Client,
}

impl ServiceClient {
    pub fn new(name: &'static str, base_url: &str, secret: ServiceSecret, timeout: Duration) -> ServiceClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .build()
            .expect("an HTTP client with timeouts builds");
        ServiceClient { name, base_url: base_url.trim_end_matches('/').to_owned(), secret, http }
    }

    /// `GET path` on behalf of `wallet`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, wallet: &WalletAddress) -> Result<T, ApiError> {
        let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
        let url = reqwest::Url::parse(&format!("{}{path}", self.base_url)).map_err(|error| {
            tracing::error!(service = self.name, error = %error, "invalid service URL");
            ApiError::internal()
        })?;
        // Sign what the service will see: the final URL's path and query.
        let signed_path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = self.http.get(url.clone());
        for (name, value) in sign(&self.secret, "GET", &signed_path, wallet, now_ms, b"") {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|error| {
            tracing::warn!(service = self.name, error = %error, "service unreachable");
            ApiError::unavailable()
        })?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|error| {
                tracing::error!(service = self.name, error = %error, "unreadable service response");
                ApiError::internal()
            });
        }
        // 4xx carry a message for the user; 5xx details stay in the service's log.
        match response.json::<ApiError>().await {
            Ok(error) if status.is_client_error() && error.code != ErrorCode::Unauthorized => Err(error),
            Ok(error) if error.code == ErrorCode::Unavailable => Err(ApiError::unavailable()),
            _ => {
                tracing::error!(service = self.name, %status, "service call failed");
                Err(ApiError::internal())
            }
        }
    }
}
