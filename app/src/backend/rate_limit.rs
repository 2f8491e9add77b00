//! Limits on log-in attempts (per wallet address and per client) and on sign-ups (per
//! client), shared by all host replicas through MongoDB.
//!
//! Each key has one counter document whose window starts with its first attempt and which is
//! replaced once the window is over (a TTL index also removes it). An attempt is counted
//! *before* the password is checked, atomically, so a burst of simultaneous guesses cannot all
//! slip past the check; a successful log-in takes its attempt back.

use std::{net::IpAddr, time::Duration};

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::{IndexOptions, ReturnDocument},
};
use serde::{Deserialize, Serialize};
use solstice_ledger::is_duplicate_key;
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use super::error::HostError;

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

impl RateLimiter {
    pub fn new(database: &Database, limits: Limits) -> RateLimiter {
        RateLimiter { counters: database.collection(ATTEMPTS), limits }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.counters.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        Ok(())
    }

    /// Counts a log-in attempt against the address and the client; refuses it past either limit.
    pub async fn log_in_attempt(&self, address: &WalletAddress, client: Option<IpAddr>) -> Result<Counted, HostError> {
        let mut keys = vec![(format!("login-address:{address}"), self.limits.login_per_address)];
        if let Some(ip) = client {
            keys.push((format!("login-client:{ip}"), self.limits.login_per_client));
        }
        self.count(keys, "Too many failed log-in attempts.").await
    }

    /// Counts a sign-up against the client; refuses it past the limit.
    pub async fn sign_up_attempt(&self, client: Option<IpAddr>) -> Result<(), HostError> {
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

    async fn count(&self, keys: Vec<(String, u32)>, what: &str) -> Result<Counted, HostError> {
        let mut counted = Vec::with_capacity(keys.len());
        let mut retry_at_ms = None;
        for (id, limit) in keys {
            let counter = self.bump(&id).await?;
            if counter.count > i64::from(limit) {
                retry_at_ms = retry_at_ms.max(Some(counter.expires_at.timestamp_millis()));
            }
            counted.push(id);
        }
        if let Some(retry_at_ms) = retry_at_ms {
            let wait_ms = (retry_at_ms - DateTime::now().timestamp_millis()).max(0);
            let minutes = (wait_ms + 59_999) / 60_000;
            let when = if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") };
            return Err(ApiError::new(ErrorCode::RateLimited, format!("{what} Try again in {when}.")).into());
        }
        Ok(Counted(counted))
    }

    /// Adds one to the key's counter, starting a new window if the last one is over.
    async fn bump(&self, id: &str) -> Result<CounterDoc, HostError> {
        let now = DateTime::now();
        // A window that is over is replaced, not continued.
        self.counters.delete_one(doc! { "_id": id, "expires_at": { "$lte": now } }).await?;
        let ends = DateTime::from_millis(now.timestamp_millis() + self.limits.window.as_millis() as i64);
        // Create the counter if there is none (an insert either happens whole or not at all),
        // then count with a plain atomic increment: no racing upserts.
        let fresh = CounterDoc { id: id.to_owned(), count: 0, expires_at: ends };
        match self.counters.insert_one(&fresh).await {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => {}
            Err(error) => return Err(error.into()),
        }
        let counter = self
            .counters
            .find_one_and_update(doc! { "_id": id }, doc! { "$inc": { "count": 1_i64 } })
            .return_document(ReturnDocument::After)
            .await?;
        // The counter can only vanish if its window ended in between; count this attempt as the
        // first of a new one.
        Ok(counter.unwrap_or(CounterDoc { count: 1, ..fresh }))
    }

    /// Takes back attempts that succeeded, so that only failures count against the limits.
    pub async fn take_back(&self, counted: Counted) -> Result<(), HostError> {
        for id in counted.0 {
            self.counters
                .update_one(doc! { "_id": &id, "count": { "$gt": 0_i64 } }, doc! { "$inc": { "count": -1_i64 } })
                .await?;
        }
        Ok(())
    }
}
