//! A lease: at most one process of a kind leads (does some work alone) at a time, across
//! replicas and restarts. The market recorder leads the writing of prices with one; the stake
//! service, the paying of rewards.
//!
//! A lease is one document, named by its kind in a collection: its holder, an expiry and a
//! term. The leader renews it well within its length; when it lapses (the leader died or was
//! cut off), any other process takes it and the term goes up by one. What a leader writes can
//! carry its term, which is how readers and later writes fence off a deposed leader that has
//! not noticed yet. Besides, a leader stops on its own as soon as it has not renewed for a
//! lease's length ([`Lease::is_valid`]).

use std::time::Duration;

use mongodb::{
    Collection, Database,
    bson::{DateTime, doc},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

#[derive(Debug, Serialize, Deserialize)]
struct LeaseDoc {
    #[serde(rename = "_id")]
    id: String,
    holder: String,
    term: i64,
    expires_at: DateTime,
}

/// One process's side of a lease.
pub struct Lease {
    leases: Collection<LeaseDoc>,
    id: String,
    holder: String,
    duration: Duration,
    term: Option<u64>,
    /// Until when, by this process's clock, the lease is surely still ours.
    valid_until: Option<Instant>,
}

impl Lease {
    /// The lease named `id` in `collection`, sought by `holder` (unique to this process), for
    /// `duration` at a time.
    pub fn new(database: &Database, collection: &str, id: &str, holder: String, duration: Duration) -> Lease {
        Lease {
            leases: database.collection(collection),
            id: id.to_owned(),
            holder,
            duration,
            term: None,
            valid_until: None,
        }
    }

    /// A name for this process as a lease holder: `prefix`, the host's name (a pod's name in
    /// Kubernetes), the process id and a random suffix, so that a restarted process is a new
    /// holder.
    pub fn holder_name(prefix: &str) -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
        format!("{prefix}-{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The term this process leads in, while it holds the lease.
    pub fn term(&self) -> Option<u64> {
        self.term
    }

    /// Renews the lease if this process holds it, or takes it if it lapsed. Returns the term
    /// this process leads in, or `None` when another one leads.
    pub async fn step(&mut self) -> Result<Option<u64>, mongodb::error::Error> {
        let started = Instant::now();
        let now = DateTime::now();
        let expires_at = DateTime::from_millis(now.timestamp_millis() + self.duration.as_millis() as i64);
        if let Some(term) = self.term {
            let renewed = self
                .leases
                .update_one(
                    doc! { "_id": &self.id, "holder": &self.holder, "term": term as i64 },
                    doc! { "$set": { "expires_at": expires_at } },
                )
                .await?;
            if renewed.matched_count == 1 {
                self.valid_until = Some(started + self.duration);
                return Ok(Some(term));
            }
            tracing::warn!(lease = %self.id, term, "lost the lease");
            self.term = None;
            self.valid_until = None;
        }
        // One round trip whether the lease lapsed or was never taken: the upsert creates it
        // (term 1) when missing, and collides with it (a duplicate key) when someone holds it.
        let taken = self
            .leases
            .find_one_and_update(
                doc! { "_id": &self.id, "expires_at": { "$lt": now } },
                doc! { "$set": { "holder": &self.holder, "expires_at": expires_at }, "$inc": { "term": 1_i64 } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        let term = match taken {
            Ok(Some(lease)) => lease.term.max(0) as u64,
            // The lease exists and has not lapsed: someone else leads.
            Ok(None) => return Ok(None),
            Err(error) if solstice_ledger::is_duplicate_key(&error) => return Ok(None),
            Err(error) => return Err(error),
        };
        tracing::info!(lease = %self.id, term, holder = %self.holder, "took the lease");
        self.term = Some(term);
        self.valid_until = Some(started + self.duration);
        Ok(Some(term))
    }

    /// For a leader in the middle of long work: renews the lease once a third of its length
    /// has passed since the last renewal (at most one write per third). Returns whether this
    /// process still surely leads.
    pub async fn keep(&mut self) -> Result<bool, mongodb::error::Error> {
        let renewed_at = self.valid_until.and_then(|until| until.checked_sub(self.duration));
        if renewed_at.is_none_or(|at| at.elapsed() >= self.duration / 3) {
            self.step().await?;
        }
        Ok(self.is_valid())
    }

    /// Whether this process surely leads now: it holds the lease and renewed it within the
    /// lease's length (so nobody else can have taken it over yet).
    pub fn is_valid(&self) -> bool {
        self.term.is_some() && self.valid_until.is_some_and(|until| Instant::now() < until)
    }

    /// Gives the lease up at once (on shutdown), so that another process takes over without
    /// waiting for it to lapse.
    pub async fn release(&mut self) {
        if let Some(term) = self.term.take() {
            let released = self
                .leases
                .update_one(
                    doc! { "_id": &self.id, "holder": &self.holder, "term": term as i64 },
                    doc! { "$set": { "expires_at": DateTime::from_millis(0) } },
                )
                .await;
            if let Err(error) = released {
                tracing::warn!(lease = %self.id, error = %error, "could not release the lease; it will lapse");
            }
        }
        self.valid_until = None;
    }
}
