//! Limits on log-in attempts (per wallet address and per client) and on sign-ups (per
//! client), shared by all host replicas through MongoDB.
//!
//! Attempts are counted in fixed windows: one counter document per key and window, which
//! expires with its window (TTL index). An attempt is counted *before* the password is checked,
//! atomically, so a burst of simultaneous guesses cannot all slip past the check; a successful
//! log-in takes its attempt back. A fixed window lets a patient attacker make at most twice the
//! limit around a window boundary, which still caps guessing at a few dozen tries an hour.

use std::{net::IpAddr, time::Duration};

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::{IndexOptions, ReturnDocument},
};
use serde::{Deserialize, Serialize};
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use super::accounts::internal;

/// Collection of attempt counters.
pub const ATTEMPTS: &str = "rate_limits";

/// How many attempts are allowed per window.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failed log-ins per wallet address.
    pub login_per_address: u32,
    /// Failed log-ins per client IP.
    pub login_per_client: u32,
    /// Sign-ups per client IP.
    pub signup_per_client: u32,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            login_per_address: 5,
            login_per_client: 30,
            signup_per_client: 10,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CounterDoc {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
    expires_at: DateTime,
}

/// Counts attempts and refuses those past the limits.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    counters: Collection<CounterDoc>,
    limits: Limits,
}

/// Attempts counted for one request, to be taken back if it turns out fine.
#[must_use]
pub struct Counted(Vec<String>);

struct Window {
    index: u64,
    ends_at_ms: i64,
}

impl RateLimiter {
    pub fn new(database: &Database, limits: Limits) -> RateLimiter {
        RateLimiter { counters: database.collection(ATTEMPTS), limits }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.counters.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        Ok(())
    }

    fn window(&self) -> Window {
        let now_ms = DateTime::now().timestamp_millis().max(0) as u64;
        let length_ms = (self.limits.window.as_millis() as u64).max(1);
        let index = now_ms / length_ms;
        Window { index, ends_at_ms: ((index + 1) * length_ms) as i64 }
    }

    /// Counts a log-in attempt against the address and the client; refuses it past either limit.
    pub async fn log_in_attempt(&self, address: &WalletAddress, client: Option<IpAddr>) -> Result<Counted, ApiError> {
        let mut keys = vec![(format!("login-address:{address}"), self.limits.login_per_address)];
        if let Some(ip) = client {
            keys.push((format!("login-client:{ip}"), self.limits.login_per_client));
        }
        self.count(keys, "Too many failed log-in attempts.").await
    }

    /// Counts a sign-up against the client; refuses it past the limit.
    pub async fn sign_up_attempt(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = client {
            // Every sign-up counts, successful or not: the attempt is never taken back.
            let _counted = self
                .count(
                    vec![(format!("signup-client:{ip}"), self.limits.signup_per_client)],
                    "Too many sign-ups from your network.",
                )
                .await?;
        }
        Ok(())
    }

    async fn count(&self, keys: Vec<(String, u32)>, what: &str) -> Result<Counted, ApiError> {
        let window = self.window();
        let mut counted = Vec::with_capacity(keys.len());
        let mut refused = false;
        for (key, limit) in keys {
            let id = format!("{key}:{}", window.index);
            let counter = self
                .counters
                .find_one_and_update(
                    doc! { "_id": &id },
                    doc! { "$inc": { "count": 1_i64 }, "$setOnInsert": { "expires_at": DateTime::from_millis(window.ends_at_ms) } },
                )
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| internal("counting an attempt", &e))?;
            refused |= counter.is_some_and(|counter| counter.count > i64::from(limit));
            counted.push(id);
        }
        if refused {
            let wait_ms = (window.ends_at_ms - DateTime::now().timestamp_millis()).max(0);
            let minutes = (wait_ms + 59_999) / 60_000;
            let when = if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") };
            return Err(ApiError::new(ErrorCode::RateLimited, format!("{what} Try again in {when}.")));
        }
        Ok(Counted(counted))
    }

    /// Takes back attempts that succeeded, so that only failures count against the limits.
    pub async fn take_back(&self, counted: Counted) -> Result<(), ApiError> {
        for id in counted.0 {
            self.counters
                .update_one(doc! { "_id": &id, "count": { "$gt": 0_i64 } }, doc! { "$inc": { "count": -1_i64 } })
                .await
                .map_err(|e| internal("updating an attempt counter", &e))?;
        }
        Ok(())
    }
}
