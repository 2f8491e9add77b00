//! tower-sessions' store over our MongoDB client: sessions survive restarts and are shared
//! by every host replica.

use async_trait::async_trait;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
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

#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    sessions: Collection<SessionDoc>,
}

impl MongoSessionStore {
    pub fn new(database: &Database) -> MongoSessionStore {
        MongoSessionStore { sessions: database.collection(SESSIONS) }
    }

    /// Expired sessions are removed by a TTL index; reads also ignore them until then.
    pub async fn init(&self) -> mongodb::error::Result<()> {
        let ttl =
            IndexOptions::builder().expire_after(std::time::Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.sessions.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
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
                Ok(_) => return Ok(()),
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
        self.sessions.replace_one(doc! { "_id": &document.id }, &document).await.map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
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
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.sessions.delete_one(doc! { "_id": id.to_string() }).await.map_err(backend)?;
        Ok(())
    }
}
