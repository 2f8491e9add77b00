//! Limits on failed log-ins, per wallet address and per client, shared by all host replicas
//! through MongoDB.
//!
//! Failures are counted in fixed windows: one counter document per key and window, which
//! expires with its window (TTL index). A fixed window lets a patient attacker make at most
//! twice the limit around a window boundary, which still caps guessing at a few dozen tries an
//! hour per address.

use std::{net::IpAddr, time::Duration};

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use super::accounts::internal;

/// Collection of failure counters.
pub const LOGIN_FAILURES: &str = "login_failures";

/// How many failed log-ins are allowed per window.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub per_address: u32,
    pub per_client: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> LoginLimits {
        LoginLimits { per_address: 5, per_client: 30, window: Duration::from_secs(15 * 60) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailureDoc {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
    expires_at: DateTime,
}

/// Counts failed log-ins and refuses attempts past the limits.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    failures: Collection<FailureDoc>,
    limits: LoginLimits,
}

struct Window {
    index: u64,
    ends_at_ms: i64,
}

impl LoginLimiter {
    pub fn new(database: &Database, limits: LoginLimits) -> LoginLimiter {
        LoginLimiter { failures: database.collection(LOGIN_FAILURES), limits }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.failures.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        Ok(())
    }

    fn window(&self) -> Window {
        let now_ms = DateTime::now().timestamp_millis().max(0) as u64;
        let length_ms = (self.limits.window.as_millis() as u64).max(1);
        let index = now_ms / length_ms;
        Window { index, ends_at_ms: ((index + 1) * length_ms) as i64 }
    }

    fn keys(&self, address: &WalletAddress, client: Option<IpAddr>, window: &Window) -> Vec<(String, u32)> {
        let mut keys = vec![(format!("address:{address}:{}", window.index), self.limits.per_address)];
        if let Some(ip) = client {
            keys.push((format!("client:{ip}:{}", window.index), self.limits.per_client));
        }
        keys
    }

    /// Refuses the attempt if the address or the client used up its failures.
    pub async fn check(&self, address: &WalletAddress, client: Option<IpAddr>) -> Result<(), ApiError> {
        let window = self.window();
        for (id, limit) in self.keys(address, client, &window) {
            let counter =
                self.failures.find_one(doc! { "_id": &id }).await.map_err(|e| internal("reading log-in limits", &e))?;
            if counter.is_some_and(|counter| counter.count >= i64::from(limit)) {
                let wait_ms = (window.ends_at_ms - DateTime::now().timestamp_millis()).max(0);
                let minutes = (wait_ms + 59_999) / 60_000;
                let when = if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") };
                return Err(ApiError::new(
                    ErrorCode::RateLimited,
                    format!("Too many failed log-in attempts. Try again in {when}."),
                ));
            }
        }
        Ok(())
    }

    /// Counts one failed attempt against the address and the client.
    pub async fn record_failure(&self, address: &WalletAddress, client: Option<IpAddr>) -> Result<(), ApiError> {
        let window = self.window();
        for (id, _) in self.keys(address, client, &window) {
            self.failures
                .update_one(
                    doc! { "_id": &id },
                    doc! { "$inc": { "count": 1_i64 }, "$setOnInsert": { "expires_at": DateTime::from_millis(window.ends_at_ms) } },
                )
                .upsert(true)
                .await
                .map_err(|e| internal("counting a failed log-in", &e))?;
        }
        Ok(())
    }

    /// Clears the address's failures after a successful log-in (the client's stay counted).
    pub async fn forget(&self, address: &WalletAddress) -> Result<(), ApiError> {
        let window = self.window();
        let (id, _) = self.keys(address, None, &window).remove(0);
        self.failures.delete_one(doc! { "_id": id }).await.map_err(|e| internal("clearing log-in failures", &e))?;
        Ok(())
    }
}
