//! Calling a service from the host: signed requests, timeouts, safe retries, errors in the
//! shared shape.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use crate::auth::{ServiceSecret, sign};

/// Attempts per call: the first and up to two retries.
const ATTEMPTS: u32 = 3;

/// A client for one service.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    name: &'static str,
    base_url: String,
    secret: ServiceSecret,
    http: reqwest::Client,
}

/// Why one attempt failed.
enum Failure {
    /// The service could not be reached or did not answer in time, or said it is unavailable:
    /// another attempt may succeed.
    Retryable,
    Final(ApiError),
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
        self.call(Method::GET, path, wallet, Vec::new()).await
    }

    /// `GET path?query` on behalf of `wallet`; the query's values are URL-encoded here.
    pub async fn get_with_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        wallet: &WalletAddress,
    ) -> Result<T, ApiError> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.call_url(Method::GET, url, wallet, Vec::new()).await
    }

    /// `POST path` with a JSON body on behalf of `wallet`.
    ///
    /// Retried like a GET: every request to a service that moves money carries an idempotency
    /// key, so a retry after a timeout gets the first outcome instead of moving money twice.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        wallet: &WalletAddress,
        body: &B,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_vec(body).map_err(|error| {
            tracing::error!(service = self.name, error = %error, "unserialisable request");
            ApiError::internal()
        })?;
        self.call(Method::POST, path, wallet, body).await
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, ApiError> {
        reqwest::Url::parse(&format!("{}{path}", self.base_url)).map_err(|error| {
            tracing::error!(service = self.name, error = %error, "invalid service URL");
            ApiError::internal()
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        wallet: &WalletAddress,
        body: Vec<u8>,
    ) -> Result<T, ApiError> {
        let url = self.url(path)?;
        self.call_url(method, url, wallet, body).await
    }

    async fn call_url<T: DeserializeOwned>(
        &self,
        method: Method,
        url: reqwest::Url,
        wallet: &WalletAddress,
        body: Vec<u8>,
    ) -> Result<T, ApiError> {
        let mut backoff = Duration::from_millis(50);
        for attempt in 1..=ATTEMPTS {
            match self.attempt(&method, &url, wallet, &body).await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retryable) if attempt < ATTEMPTS => {
                    let jitter = Duration::from_micros(rand::random::<u64>() % (backoff.as_micros() as u64 + 1));
                    tokio::time::sleep(backoff / 2 + jitter / 2).await;
                    backoff *= 4;
                }
                Err(Failure::Retryable) => {}
            }
        }
        Err(ApiError::unavailable())
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &reqwest::Url,
        wallet: &WalletAddress,
        body: &[u8],
    ) -> Result<T, Failure> {
        // Sign what the service will see: the final URL's path and query. Each attempt is
        // signed afresh, so a retry is never refused for its age.
        let signed_path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in sign(&self.secret, method.as_str(), &signed_path, wallet, now_ms, body) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let response = request.send().await.map_err(|error| {
            tracing::warn!(service = self.name, error = %error, "service unreachable");
            Failure::Retryable
        })?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|error| {
                tracing::error!(service = self.name, error = %error, "unreadable service response");
                Failure::Final(ApiError::internal())
            });
        }
        if matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT) {
            return Err(Failure::Retryable);
        }
        // 4xx carry a message for the user; 5xx details stay in the service's log.
        match response.json::<ApiError>().await {
            Ok(error) if status.is_client_error() && error.code != ErrorCode::Unauthorized => {
                Err(Failure::Final(error))
            }
            _ => {
                tracing::error!(service = self.name, %status, "service call failed");
                Err(Failure::Final(ApiError::internal()))
            }
        }
    }
}
