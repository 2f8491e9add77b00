//! Personal API keys: made and revoked by their owner in the app, used by the owner's scripts on
//! the public API (`/api/v1`, the host's `public_api`).
//!
//! A key is `sol_<id>_<secret>`: the id (12 hex digits) finds the key's document, the secret
//! (32 random bytes, base58) proves it. Only the secret's SHA-256 is stored, so the database
//! cannot give a key back; a salted slow hash is not needed for 256 random bits, which nobody
//! can guess, and a fast one keeps every API request cheap. The key is shown once, when made.
//!
//! Each key is limited to a number of requests a minute, counted in the database so that all
//! host replicas share the count. Its last use is kept to the minute: written only when the
//! stored one is older, so that a busy key does not cost a write per request.

use std::time::Duration;

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use solstice_ledger::is_duplicate_key;
use solstice_types::{
    ApiError, ErrorCode, WalletAddress,
    api_key::{ApiKeyInfo, CreatedApiKey, KEY_PREFIX, MAX_EXPIRY_DAYS, MAX_KEYS_PER_WALLET, Scope, parse_name},
    hex,
};

use super::error::HostError;

/// Collection of API keys.
pub const API_KEYS: &str = "api_keys";
/// Collection of the per-key request counters (the rate limits' own collection, whose TTL index
/// removes old windows).
const COUNTERS: &str = super::rate_limit::ATTEMPTS;
/// How stale a key's stored last use may get before a request writes it again.
const LAST_USE_PRECISION: Duration = Duration::from_secs(60);
const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApiKeyDoc {
    #[serde(rename = "_id")]
    id: String,
    wallet: String,
    name: String,
    scopes: Vec<Scope>,
    /// SHA-256 of the key's secret part, hex.
    secret_sha256: String,
    created_at: DateTime,
    #[serde(default)]
    expires_at: Option<DateTime>,
    #[serde(default)]
    last_used_at: Option<DateTime>,
}

impl ApiKeyDoc {
    fn info(&self) -> ApiKeyInfo {
        ApiKeyInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            created_at_ms: self.created_at.timestamp_millis(),
            expires_at_ms: self.expires_at.map(|at| at.timestamp_millis()),
            last_used_at_ms: self.last_used_at.map(|at| at.timestamp_millis()),
        }
    }
}

/// Who a request's key acts for, and what it may do.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key_id: String,
    pub wallet: WalletAddress,
    pub scopes: Vec<Scope>,
}

impl KeyHolder {
    /// Refuses the request when the key lacks `scope` (403: the key is good, the act is not
    /// allowed to it).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "This API key does not have the \"{}\" scope. Make a key with it on the API keys page.",
                scope.as_str()
            ),
        ))
    }
}

/// The keys, and the count of each key's requests.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    keys: Collection<ApiKeyDoc>,
    counters: Collection<mongodb::bson::Document>,
    /// Requests each key may make per minute.
    per_minute: u32,
}

impl ApiKeys {
    pub fn new(database: &Database, per_minute: u32) -> ApiKeys {
        ApiKeys { keys: database.collection(API_KEYS), counters: database.collection(COUNTERS), per_minute }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        self.keys.create_index(IndexModel::builder().keys(doc! { "wallet": 1, "created_at": -1 }).build()).await?;
        Ok(())
    }

    /// Makes a key for `wallet`. `expires_in_days`: `None` for a key that never expires.
    pub async fn create(
        &self,
        wallet: &WalletAddress,
        name: &str,
        scopes: &[Scope],
        expires_in_days: Option<u32>,
    ) -> Result<CreatedApiKey, HostError> {
        let name = parse_name(name).map_err(|message| ApiError::new(ErrorCode::InvalidInput, message))?;
        let mut scopes: Vec<Scope> = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidInput, "Choose at least one scope for the key.").into());
        }
        if let Some(days) = expires_in_days
            && !(1..=MAX_EXPIRY_DAYS).contains(&days)
        {
            let message = format!("A key expires after 1 to {MAX_EXPIRY_DAYS} days, or never.");
            return Err(ApiError::new(ErrorCode::InvalidInput, message).into());
        }
        let held = self.keys.count_documents(doc! { "wallet": wallet.as_str() }).await?;
        if held >= MAX_KEYS_PER_WALLET as u64 {
            let message =
                format!("A wallet can hold {MAX_KEYS_PER_WALLET} API keys. Revoke one you no longer use first.");
            return Err(ApiError::new(ErrorCode::InvalidInput, message).into());
        }
        let now = DateTime::now();
        let secret = bs58::encode(rand::random::<[u8; 32]>()).into_string();
        let document = ApiKeyDoc {
            id: hex(&rand::random::<[u8; 6]>()),
            wallet: wallet.as_str().to_owned(),
            name,
            scopes,
            secret_sha256: digest(&secret),
            created_at: now,
            expires_at: expires_in_days
                .map(|days| DateTime::from_millis(now.timestamp_millis() + i64::from(days) * DAY_MS)),
            last_used_at: None,
        };
        self.keys.insert_one(&document).await?;
        tracing::info!(key = %document.id, wallet = %wallet, "API key created");
        Ok(CreatedApiKey { secret: format!("{KEY_PREFIX}{}_{secret}", document.id), key: document.info() })
    }

    /// The wallet's keys, newest first.
    pub async fn list(&self, wallet: &WalletAddress) -> Result<Vec<ApiKeyInfo>, HostError> {
        use futures::TryStreamExt;
        let keys: Vec<ApiKeyDoc> = self
            .keys
            .find(doc! { "wallet": wallet.as_str() })
            .sort(doc! { "created_at": -1 })
            .await?
            .try_collect()
            .await?;
        Ok(keys.iter().map(ApiKeyDoc::info).collect())
    }

    /// Revokes the wallet's key `id` at once: the next request with it is refused.
    pub async fn revoke(&self, wallet: &WalletAddress, id: &str) -> Result<(), HostError> {
        let deleted = self.keys.delete_one(doc! { "_id": id, "wallet": wallet.as_str() }).await?;
        if deleted.deleted_count == 0 {
            return Err(ApiError::new(ErrorCode::NotFound, "You have no API key with this id.").into());
        }
        tracing::info!(key = %id, wallet = %wallet, "API key revoked");
        Ok(())
    }

    /// The holder of the key in an `Authorization` header, counted against the key's limit.
    /// Every way a key can be wrong (missing, malformed, unknown, revoked, expired) is a 401 that
    /// says what to do, never which of those it was beyond "expired".
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<KeyHolder, HostError> {
        let Some(authorization) = authorization else {
            return Err(unauthorized("Send your API key as \"Authorization: Bearer sol_...\".").into());
        };
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("Send your API key as \"Authorization: Bearer sol_...\"."))?;
        let invalid = || {
            unauthorized("This API key is not valid: it may have been revoked. Make a new one on the API keys page.")
        };
        let (id, secret) = token
            .strip_prefix(KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .filter(|(id, secret)| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
            .ok_or_else(invalid)?;
        let key = self.keys.find_one(doc! { "_id": id }).await?.ok_or_else(invalid)?;
        if !same(&digest(secret), &key.secret_sha256) {
            return Err(invalid().into());
        }
        let now = DateTime::now();
        if key.expires_at.is_some_and(|expires| expires <= now) {
            return Err(unauthorized("This API key has expired. Make a new one on the API keys page.").into());
        }
        let wallet = WalletAddress::parse(&key.wallet).map_err(|_| ApiError::internal())?;
        self.count_request(&key.id, now).await?;
        let stale = key.last_used_at.is_none_or(|last| {
            now.timestamp_millis() - last.timestamp_millis() >= LAST_USE_PRECISION.as_millis() as i64
        });
        if stale {
            self.keys.update_one(doc! { "_id": &key.id }, doc! { "$set": { "last_used_at": now } }).await?;
        }
        Ok(KeyHolder { key_id: key.id, wallet, scopes: key.scopes })
    }

    /// Counts a request in the key's current minute; refuses it past the limit.
    async fn count_request(&self, id: &str, now: DateTime) -> Result<(), HostError> {
        let minute = now.timestamp_millis().div_euclid(60_000);
        let counter = format!("api-key:{id}:{minute}");
        let window_end = DateTime::from_millis((minute + 1) * 60_000);
        // Upserts racing on a new minute's counter: one inserts, the others hit the unique
        // `_id` and count again as a plain update.
        let mut attempt = 0;
        let count = loop {
            let result = self
                .counters
                .find_one_and_update(
                    doc! { "_id": &counter },
                    doc! { "$inc": { "count": 1_i64 }, "$setOnInsert": { "expires_at": window_end } },
                )
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(document) => break document.and_then(|document| document.get_i64("count").ok()).unwrap_or(1),
                Err(error) if is_duplicate_key(&error) && attempt == 0 => attempt += 1,
                Err(error) => return Err(error.into()),
            }
        };
        if count > i64::from(self.per_minute) {
            let wait = ((window_end.timestamp_millis() - now.timestamp_millis()) / 1000).max(1);
            let message = format!(
                "This API key has made its {} requests for this minute. Try again in {wait} seconds.",
                self.per_minute
            );
            return Err(ApiError::new(ErrorCode::RateLimited, message).into());
        }
        Ok(())
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares two digests in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0_u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_whole() {
        assert!(same(&digest("abc"), &digest("abc")));
        assert!(!same(&digest("abc"), &digest("abd")));
        assert!(!same("ab", "abc"));
    }
}
