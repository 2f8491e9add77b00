//! tower-sessions' store over our MongoDB client: sessions survive restarts and are shared
//! by every host replica.
//!
//! Every request of a logged-in user reads its session. So that this is not a database round
//! trip each time, a session read is kept in memory for a while (30 s unless configured), but only while the
//! host follows the `sessions` collection's change stream: every change to a session (a
//! log-out in any tab on any replica, a log-in's new id, an expiry, the sliding save) evicts it
//! from every replica's memory as soon as the database reports the change, in milliseconds.
//! While the stream is not followed (a database that has none, such as a standalone `mongod`,
//! or while it reconnects), every read goes to the database.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures::StreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, Document, doc},
    change_stream::event::OperationType,
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use solstice_ledger::is_duplicate_key;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

/// Collection of [`SessionDoc`].
pub const SESSIONS: &str = "sessions";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionDoc {
    #[serde(rename = "_id")]
    id: String,
    /// The session's data as JSON text (its values are arbitrary JSON).
    data: String,
    expires_at: DateTime,
}

/// How long, by default, a session read from the database is served from memory, unless a
/// change to it evicts it first (`SOLSTICE_SESSION_CACHE_SECONDS`).
pub const DEFAULT_CACHE_SECONDS: u32 = 30;
/// Most sessions kept in memory; past it, the memory starts again.
const CACHE_CAPACITY: usize = 100_000;

#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    sessions: Collection<SessionDoc>,
    cache: Arc<Cache>,
}

#[derive(Debug)]
struct Cache {
    /// How long an entry is served; zero: never.
    cached_for: Duration,
    entries: Mutex<HashMap<Id, (Record, Instant)>>,
    /// Whether the change stream is followed now: nothing is served from memory otherwise.
    following: AtomicBool,
    /// Moves on with every change the stream reports and whenever it starts again: a read
    /// that began before a change does not put what it read in memory.
    generation: AtomicU64,
}

impl Cache {
    fn get(&self, id: &Id) -> Option<Record> {
        if !self.following.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().expect("session cache");
        let (record, read_at) = entries.get(id)?;
        (read_at.elapsed() < self.cached_for && record.expiry_date > time::OffsetDateTime::now_utc())
            .then(|| record.clone())
    }

    fn put(&self, record: &Record, generation: u64) {
        let mut entries = self.entries.lock().expect("session cache");
        // Checked under the lock that eviction takes too: a change reported meanwhile wins.
        if !self.following.load(Ordering::Acquire) || self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(record.id, (record.clone(), Instant::now()));
    }

    fn evict(&self, id: Option<&Id>) {
        let mut entries = self.entries.lock().expect("session cache");
        self.generation.fetch_add(1, Ordering::AcqRel);
        match id {
            Some(id) => drop(entries.remove(id)),
            None => entries.clear(),
        }
    }
}

impl MongoSessionStore {
    /// A store that serves sessions from memory for up to `cached_for` (zero: never).
    pub fn new(database: &Database, cached_for: Duration) -> MongoSessionStore {
        let cache = Cache {
            cached_for,
            entries: Mutex::default(),
            following: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        };
        MongoSessionStore { sessions: database.collection(SESSIONS), cache: Arc::new(cache) }
    }

    /// Expired sessions are removed by a TTL index; reads also ignore them until then. Starts
    /// following the change stream (see the module's documentation), until every clone of this
    /// store is dropped.
    pub async fn init(&self) -> mongodb::error::Result<()> {
        let ttl =
            IndexOptions::builder().expire_after(std::time::Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.sessions.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        if !self.cache.cached_for.is_zero() {
            tokio::spawn(follow(self.sessions.clone_with_type(), Arc::downgrade(&self.cache)));
        }
        Ok(())
    }

    fn document(record: &Record) -> Result<SessionDoc> {
        Ok(SessionDoc {
            id: record.id.to_string(),
            data: serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?,
            expires_at: DateTime::from_millis((record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64),
        })
    }
}

/// Follows the changes to sessions and evicts each changed one from memory; while the stream
/// is down, nothing is served from memory. Ends once the store is dropped.
async fn follow(sessions: Collection<Document>, cache: Weak<Cache>) {
    let mut warned = false;
    loop {
        let Some(alive) = cache.upgrade() else { return };
        match sessions.watch().await {
            Ok(stream) => {
                // What was read before the stream started may have changed unseen.
                alive.evict(None);
                alive.following.store(true, Ordering::Release);
                drop(alive);
                warned = false;
                let Some(ended) = evict_changed(stream, &cache).await else { return };
                let Some(alive) = cache.upgrade() else { return };
                alive.following.store(false, Ordering::Release);
                alive.evict(None);
                if let Some(error) = ended {
                    tracing::warn!(error = %error.kind, "the sessions' change stream broke; reading sessions from the database until it is back");
                }
            }
            Err(error) => {
                alive.following.store(false, Ordering::Release);
                if !warned {
                    tracing::warn!(error = %error.kind, "the sessions' change stream is not available; every session is read from the database");
                    warned = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Evicts each session `stream` reports changed, until the stream ends (`Some`, with its error
/// if it broke) or the store is dropped (`None`).
async fn evict_changed(
    mut stream: mongodb::change_stream::ChangeStream<mongodb::change_stream::event::ChangeStreamEvent<Document>>,
    cache: &Weak<Cache>,
) -> Option<Option<mongodb::error::Error>> {
    loop {
        // Woken at least every second to check that the store is still in use.
        let next = tokio::time::timeout(Duration::from_secs(1), stream.next()).await;
        let alive = cache.upgrade()?;
        let event = match next {
            Err(_) => continue,
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(error))) => return Some(Some(error)),
            Ok(None) => return Some(None),
        };
        let id =
            event.document_key.as_ref().and_then(|key| key.get_str("_id").ok()).and_then(|id| id.parse::<Id>().ok());
        match (event.operation_type, id) {
            (OperationType::Insert, _) => {}
            (_, Some(id)) => alive.evict(Some(&id)),
            // A drop, a rename, an invalidation: forget everything.
            (_, None) => alive.evict(None),
        }
    }
}

fn backend(error: mongodb::error::Error) -> Error {
    // The driver's message names hosts, not credentials; still, keep it short.
    Error::Backend(format!("session store: {}", error.kind))
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits; on the impossible collision, draw another.
        loop {
            match self.sessions.insert_one(Self::document(record)?).await {
                Ok(_) => {
                    self.cache.evict(Some(&record.id));
                    return Ok(());
                }
                Err(error) if is_duplicate_key(&error) => record.id = Id::default(),
                Err(error) => return Err(backend(error)),
            }
        }
    }

    /// Updates a session that still exists. Never re-creates one: a request that loaded the
    /// session before a log-out elsewhere (or before it expired) must not bring it back when it
    /// finishes. New sessions, including the new id after a log-in, go through `create`.
    async fn save(&self, record: &Record) -> Result<()> {
        let document = Self::document(record)?;
        let replaced = self.sessions.replace_one(doc! { "_id": &document.id }, &document).await;
        self.cache.evict(Some(&record.id));
        replaced.map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        if let Some(record) = self.cache.get(id) {
            return Ok(Some(record));
        }
        let generation = self.cache.generation.load(Ordering::Acquire);
        let found = self
            .sessions
            .find_one(doc! { "_id": id.to_string(), "expires_at": { "$gt": DateTime::now() } })
            .await
            .map_err(backend)?;
        let Some(document) = found else { return Ok(None) };
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(document.expires_at.timestamp_millis()) * 1_000_000,
        )
        .map_err(|e| Error::Decode(e.to_string()))?;
        let data = serde_json::from_str(&document.data).map_err(|e| Error::Decode(e.to_string()))?;
        let record = Record { id: *id, data, expiry_date };
        self.cache.put(&record, generation);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let deleted = self.sessions.delete_one(doc! { "_id": id.to_string() }).await;
        self.cache.evict(Some(id));
        deleted.map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(following: bool) -> Cache {
        Cache {
            cached_for: Duration::from_secs(30),
            entries: Mutex::default(),
            following: AtomicBool::new(following),
            generation: AtomicU64::new(0),
        }
    }

    fn record(expires_in: time::Duration) -> Record {
        Record { id: Id::default(), data: HashMap::new(), expiry_date: time::OffsetDateTime::now_utc() + expires_in }
    }

    #[test]
    fn while_the_change_stream_is_not_followed_nothing_is_served_from_memory() {
        let cache = cache(true);
        let session = record(time::Duration::hours(1));
        cache.put(&session, 0);
        assert!(cache.get(&session.id).is_some());
        // The stream broke: a log-out on another replica would go unseen, so the session is
        // read from the database again, though it is still in memory.
        cache.following.store(false, Ordering::Release);
        assert!(cache.get(&session.id).is_none());
        // Nor is anything read meanwhile kept.
        let other = record(time::Duration::hours(1));
        cache.put(&other, cache.generation.load(Ordering::Acquire));
        cache.following.store(true, Ordering::Release);
        assert!(cache.get(&other.id).is_none());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let cache = cache(true);
        let session = record(time::Duration::hours(1));
        let generation = cache.generation.load(Ordering::Acquire);
        // A log-out elsewhere is reported while the read is under way: what it read is old.
        cache.evict(Some(&session.id));
        cache.put(&session, generation);
        assert!(cache.get(&session.id).is_none());
        cache.put(&session, cache.generation.load(Ordering::Acquire));
        assert!(cache.get(&session.id).is_some());
        cache.evict(Some(&session.id));
        assert!(cache.get(&session.id).is_none(), "a change evicts it");
    }

    #[test]
    fn an_expired_or_old_entry_is_not_served() {
        let cache = cache(true);
        let expired = record(time::Duration::seconds(-1));
        cache.put(&expired, 0);
        assert!(cache.get(&expired.id).is_none());
        let quick = Cache { cached_for: Duration::ZERO, ..cache };
        let session = record(time::Duration::hours(1));
        quick.put(&session, 0);
        assert!(quick.get(&session.id).is_none(), "kept no longer than configured");
    }
}
