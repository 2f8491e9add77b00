//! The recorder's lease: at most one recorder leads (talks to the sources and writes) at a time.
//!
//! The lease is one document: its holder, an expiry and a term. The leader renews it every
//! second; when it lapses (the leader died or was cut off), any other recorder takes it and
//! the term goes up by one. Everything a leader writes carries its term, which is how readers
//! and later writes fence off a deposed leader that has not noticed yet. Besides, a leader
//! stops writing on its own as soon as it has not renewed for a lease's length.

use std::time::Duration;

use mongodb::{
    Collection,
    bson::{DateTime, doc},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The recorder's own collection: the lease, and which market the store holds.
pub const RECORDER: &str = "market_recorder";
const LEASE_ID: &str = "lease";

#[derive(Debug, Serialize, Deserialize)]
struct LeaseDoc {
    #[serde(rename = "_id")]
    id: String,
    holder: String,
    term: i64,
    expires_at: DateTime,
}

pub struct Lease {
    leases: Collection<LeaseDoc>,
    holder: String,
    duration: Duration,
    term: Option<u64>,
    /// Until when, by this process's clock, the lease is surely still ours.
    valid_until: Option<Instant>,
}

impl Lease {
    pub fn new(database: &mongodb::Database, holder: String, duration: Duration) -> Lease {
        Lease { leases: database.collection(RECORDER), holder, duration, term: None, valid_until: None }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Renews the lease if this recorder holds it, or takes it if it lapsed. Returns the term
    /// this recorder leads in, or `None` when another one leads.
    pub async fn step(&mut self) -> Result<Option<u64>, mongodb::error::Error> {
        let started = Instant::now();
        let now = DateTime::now();
        let expires_at = DateTime::from_millis(now.timestamp_millis() + self.duration.as_millis() as i64);
        if let Some(term) = self.term {
            let renewed = self
                .leases
                .update_one(
                    doc! { "_id": LEASE_ID, "holder": &self.holder, "term": term as i64 },
                    doc! { "$set": { "expires_at": expires_at } },
                )
                .await?;
            if renewed.matched_count == 1 {
                self.valid_until = Some(started + self.duration);
                return Ok(Some(term));
            }
            tracing::warn!(term, "the recorder lost its lease");
            self.term = None;
            self.valid_until = None;
        }
        let taken = self
            .leases
            .find_one_and_update(
                doc! { "_id": LEASE_ID, "expires_at": { "$lt": now } },
                doc! { "$set": { "holder": &self.holder, "expires_at": expires_at }, "$inc": { "term": 1 } },
            )
            .return_document(ReturnDocument::After)
            .await?;
        let term = match taken {
            Some(lease) => lease.term.max(0) as u64,
            None => {
                let first = LeaseDoc { id: LEASE_ID.into(), holder: self.holder.clone(), term: 1, expires_at };
                match self.leases.insert_one(&first).await {
                    Ok(_) => 1,
                    // The lease exists and has not lapsed: someone else leads.
                    Err(error) if solstice_ledger::is_duplicate_key(&error) => return Ok(None),
                    Err(error) => return Err(error),
                }
            }
        };
        tracing::info!(term, holder = %self.holder, "the recorder took the lease");
        self.term = Some(term);
        self.valid_until = Some(started + self.duration);
        Ok(Some(term))
    }

    /// Whether this recorder surely leads now: it holds the lease and renewed it within the
    /// lease's length (so nobody else can have taken it over yet).
    pub fn is_valid(&self) -> bool {
        self.term.is_some() && self.valid_until.is_some_and(|until| Instant::now() < until)
    }

    /// Gives the lease up at once (on shutdown), so that another recorder takes over without
    /// waiting for it to lapse.
    pub async fn release(&mut self) {
        if let Some(term) = self.term.take() {
            let released = self
                .leases
                .update_one(
                    doc! { "_id": LEASE_ID, "holder": &self.holder, "term": term as i64 },
                    doc! { "$set": { "expires_at": DateTime::from_millis(0) } },
                )
                .await;
            if let Err(error) = released {
                tracing::warn!(error = %error, "could not release the lease; it will lapse");
            }
        }
        self.valid_until = None;
    }
}
