//! Calling a service from the host: signed requests, timeouts, calls spread over the
//! service's replicas, safe retries on another replica, errors in the shared shape.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use crate::{
    auth::{SigningKey, sign},
    start::StartError,
};

/// Attempts per call: the first and up to two retries, each on the next replica.
const ATTEMPTS: u32 = 3;
/// A replica that refused a connection or said it is unavailable is passed over for this long
/// (unless every replica is).
const COOL_DOWN: Duration = Duration::from_secs(2);

/// A client for one service, which may run as several replicas.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    name: &'static str,
    replicas: Arc<[Replica]>,
    /// Round-robin position: each call starts at the next replica.
    next: Arc<AtomicUsize>,
    /// What the cool-downs are measured from.
    epoch: Instant,
    key: SigningKey,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Replica {
    /// Parsed once: a call only sets the path (parsing the whole URL again, host and all, was
    /// 2.5 % of the host's CPU per call, profiled).
    base: reqwest::Url,
    /// Milliseconds since the client's `epoch` until which this replica is passed over.
    cool_until_ms: AtomicU64,
}

/// Why one attempt failed.
enum Failure {
    /// The replica could not be reached or did not answer in time, or said it is unavailable
    /// (with its error, when it gave one): another attempt, on another replica, may succeed.
    /// `cool` when the replica itself looks down or sick (refused the connection, answered
    /// 502/503/504); not when it was merely slow, which says more about the database than
    /// about the replica, and passing over it would send everything to the others.
    Retryable {
        error: Option<ApiError>,
        cool: bool,
    },
    Final(ApiError),
}

impl ServiceClient {
    /// A client for the service at `base_urls`: one base URL, or several separated by commas
    /// (one per replica), over which calls are spread. Says what is wrong with a list that
    /// holds no URL or something that is not an http(s) URL, so that a host misconfigured this
    /// way does not start.
    pub fn new(
        name: &'static str,
        base_urls: &str,
        key: SigningKey,
        timeout: Duration,
    ) -> Result<ServiceClient, StartError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // Services close idle connections after their header timeout (10 s by default):
            // reusing one they are closing would fail a call, so idle ones are dropped sooner.
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            // A service never redirects: a signed request is sent where it was meant to go, and
            // nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with timeouts builds");
        let mut replicas = Vec::new();
        for url in base_urls.split(',').map(str::trim).filter(|url| !url.is_empty()) {
            let parsed = reqwest::Url::parse(url)
                .map_err(|error| StartError::Config(format!("the {name} service URL {url:?}: {error}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(StartError::Config(format!("the {name} service URL {url:?} is not an http(s) URL")));
            }
            replicas.push(Replica { base: parsed, cool_until_ms: AtomicU64::new(0) });
        }
        if replicas.is_empty() {
            return Err(StartError::Config(format!("no URL given for the {name} service")));
        }
        Ok(ServiceClient {
            name,
            replicas: replicas.into(),
            next: Arc::new(AtomicUsize::new(rand::random::<u32>() as usize)),
            epoch: Instant::now(),
            key,
            http,
        })
    }

    /// `GET path?query` on behalf of `wallet`; the query's values are URL-encoded here.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        wallet: &WalletAddress,
    ) -> Result<T, ApiError> {
        self.call(Method::GET, path, query, wallet, Vec::new()).await
    }

    /// `POST path` with a JSON body on behalf of `wallet`.
    ///
    /// Retried like a GET, on another replica: every request to a service that moves money
    /// carries an idempotency key, so a retry after a timeout gets the first outcome instead of
    /// moving money twice.
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
        self.call(Method::POST, path, &[], wallet, body).await
    }

    fn url(&self, replica: &Replica, path: &str, query: &[(&str, String)]) -> Result<reqwest::Url, ApiError> {
        let mut url = replica.base.clone();
        // The base's own path (a prefix, when the service is mounted under one), then `path`.
        let full = format!("{}{path}", replica.base.path().trim_end_matches('/'));
        url.set_path(&full);
        if url.path() != full {
            // `path` held what a path cannot (callers build it from checked parts): never sent.
            tracing::error!(service = self.name, "invalid service path");
            return Err(ApiError::internal());
        }
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The replica for attempt `attempt` of a call that started at round-robin position
    /// `start`: the next one in turn that is not cooling down, or, if all are, simply the next.
    fn pick(&self, start: usize, attempt: usize) -> &Replica {
        let count = self.replicas.len();
        let now = self.now_ms();
        let in_turn = |offset: usize| &self.replicas[(start + attempt + offset) % count];
        (0..count)
            .map(in_turn)
            .find(|replica| replica.cool_until_ms.load(Ordering::Relaxed) <= now)
            .unwrap_or_else(|| in_turn(0))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        wallet: &WalletAddress,
        body: Vec<u8>,
    ) -> Result<T, ApiError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut backoff = Duration::from_millis(50);
        let mut last_error = None;
        for attempt in 1..=ATTEMPTS {
            let replica = self.pick(start, attempt as usize - 1);
            let url = self.url(replica, path, query)?;
            match self.attempt(&method, &url, wallet, &body).await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retryable { error, cool }) => {
                    last_error = error.or(last_error);
                    if cool {
                        replica.cool_until_ms.store(self.now_ms() + COOL_DOWN.as_millis() as u64, Ordering::Relaxed);
                    }
                    if attempt < ATTEMPTS {
                        // Jittered, so that callers that failed together do not retry together.
                        let jitter = Duration::from_micros(rand::random::<u64>() % (backoff.as_micros() as u64 + 1));
                        tokio::time::sleep(backoff / 2 + jitter / 2).await;
                        backoff *= 4;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(ApiError::unavailable))
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &reqwest::Url,
        wallet: &WalletAddress,
        body: &[u8],
    ) -> Result<T, Failure> {
        // Sign what the service will see: the final URL's path and query. Each attempt is
        // signed afresh, with a new nonce, so a retry is never refused for its age or as a
        // replay.
        let signed_path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in sign(&self.key, method.as_str(), &signed_path, wallet, now_ms, body) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let response = request.send().await.map_err(|error| {
            let replica = url.origin().ascii_serialization();
            if error.is_timeout() {
                tracing::warn!(service = self.name, %replica, "service call timed out");
            } else {
                tracing::warn!(service = self.name, %replica, error = %error, "service unreachable");
            }
            Failure::Retryable { error: None, cool: !error.is_timeout() }
        })?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|error| {
                if error.is_decode() {
                    tracing::error!(service = self.name, error = %error, "unreadable service response");
                    Failure::Final(ApiError::internal())
                } else {
                    // The connection broke while the answer was arriving (the replica died).
                    tracing::warn!(service = self.name, error = %error, "service answer cut off");
                    Failure::Retryable { error: None, cool: !error.is_timeout() }
                }
            });
        }
        if matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT) {
            // A 503 in the shared shape says why (a stale price, the database unreachable);
            // a proxy's 502/504 page does not.
            let error = response.json::<ApiError>().await.ok().filter(|error| error.code.status() == 503);
            return Err(Failure::Retryable { error, cool: true });
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
