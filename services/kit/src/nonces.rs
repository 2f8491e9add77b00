//! The record of used nonces (see [`crate::auth`]), written in batches: the nonces of requests
//! that arrive together are recorded by one insert, so that under load a signed request costs
//! the database a fraction of a write instead of a write of its own. A request waits only while
//! as many inserts as [`IN_FLIGHT`] are under way; otherwise its nonce is inserted at once.

use std::{sync::Arc, time::Duration};

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    error::{Error, ErrorKind, InsertManyError},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore, mpsc, oneshot};

/// Collection of the nonces of accepted requests that change something.
pub const NONCES: &str = "request_nonces";
/// Inserts under way at once; the requests arriving meanwhile wait to go together in the next
/// (one: measured, two in flight made batches of 1.5 nonces, one of 2.6).
const IN_FLIGHT: usize = 1;
/// Most nonces in one insert.
const MOST_PER_INSERT: usize = 256;

#[derive(Debug, Serialize, Deserialize)]
struct NonceDoc {
    #[serde(rename = "_id")]
    id: String,
    expires_at: DateTime,
}

/// Whether a nonce was new, or the database's error.
type Outcome = Result<bool, Error>;
/// A nonce to record, and where to say how that went.
type Request = (NonceDoc, oneshot::Sender<Outcome>);

/// Where nonces are recorded: cheap to clone, all clones feed one writer.
#[derive(Clone)]
pub(crate) struct NonceLog {
    queue: mpsc::UnboundedSender<Request>,
    /// The writer starts with the first nonce, so that a service that only serves reads never
    /// writes to the database.
    writer: Arc<OnceCell<()>>,
    pending: Arc<std::sync::Mutex<Option<mpsc::UnboundedReceiver<Request>>>>,
    nonces: Collection<NonceDoc>,
}

impl NonceLog {
    pub fn new(database: &Database) -> NonceLog {
        let (queue, pending) = mpsc::unbounded_channel();
        NonceLog {
            queue,
            writer: Arc::default(),
            pending: Arc::new(std::sync::Mutex::new(Some(pending))),
            nonces: database.collection(NONCES),
        }
    }

    /// Records `id` as used until `expires_at`: `true` if it was new, `false` if it was used
    /// already (by a request recorded earlier or in the same insert).
    pub async fn first_use(&self, id: String, expires_at: DateTime) -> Outcome {
        self.writer
            .get_or_try_init(|| async {
                let ttl =
                    IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
                let index = IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build();
                self.nonces.create_index(index).await?;
                if let Some(pending) = self.pending.lock().expect("the nonce queue").take() {
                    tokio::spawn(write(self.nonces.clone(), pending));
                }
                Ok::<_, Error>(())
            })
            .await?;
        let (answer, outcome) = oneshot::channel();
        let stopped = || Error::custom("the nonce writer stopped".to_owned());
        self.queue.send((NonceDoc { id, expires_at }, answer)).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// Inserts what is queued, [`IN_FLIGHT`] inserts at a time, until every [`NonceLog`] is gone.
async fn write(nonces: Collection<NonceDoc>, mut queue: mpsc::UnboundedReceiver<Request>) {
    let turns = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(turn) = turns.clone().acquire_owned().await else { return };
        let Some(first) = queue.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MOST_PER_INSERT {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let nonces = nonces.clone();
        tokio::spawn(async move {
            let (documents, answers): (Vec<NonceDoc>, Vec<oneshot::Sender<Outcome>>) = batch.into_iter().unzip();
            let outcomes = insert(&nonces, &documents).await;
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                // The request may have given up waiting; nothing to tell it then.
                let _ = answer.send(outcome);
            }
            drop(turn);
        });
    }
}

/// Inserts `documents` (unordered: one refused does not stop the others) and tells each
/// whether it was new.
async fn insert(nonces: &Collection<NonceDoc>, documents: &[NonceDoc]) -> Vec<Outcome> {
    let error = match nonces.insert_many(documents).ordered(false).await {
        Ok(_) => return documents.iter().map(|_| Ok(true)).collect(),
        Err(error) => error,
    };
    let mut outcomes: Vec<Outcome> = documents.iter().map(|_| Ok(true)).collect();
    match error.kind.as_ref() {
        ErrorKind::InsertMany(InsertManyError { write_errors: Some(refused), write_concern_error: None, .. }) => {
            for refusal in refused {
                if let Some(outcome) = outcomes.get_mut(refusal.index) {
                    *outcome = if refusal.code == DUPLICATE_KEY { Ok(false) } else { Err(error.clone()) };
                }
            }
            outcomes
        }
        // Whether any went in is unknown: every request is answered with the error (and the
        // host retries it with a new nonce).
        _ => documents.iter().map(|_| Err(error.clone())).collect(),
    }
}

/// MongoDB's code for a unique index refusing a document.
const DUPLICATE_KEY: i32 = 11000;
