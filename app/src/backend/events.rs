//! Account events: each host follows the ledger's records in the database and tells the
//! browsers of the wallets that took part ("your money moved: this reference"), over their
//! websocket, within a poll. Whichever host or service wrote the record, every host sees it,
//! so a transfer made through one host reaches a browser connected to another.
//!
//! The ledger is the source: a record and its event cannot disagree, and no event is lost when
//! a writer dies between two writes, as a separate events collection would allow. Records are
//! read by creation time with a margin (a transaction committed late carries an earlier time)
//! and each is told once. Rewards paid into a stake account name the stake account, not the
//! wallet: the owner is looked up once per stake account.
//!
//! Only references travel here: each socket asks the portfolio service for the row as its own
//! wallet, so an event never carries anything its receiver could not read anyway.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{DateTime, Document, doc},
};
use solstice_types::WalletAddress;
use tokio::sync::broadcast;

/// How far back each poll looks beyond the newest record seen: a transaction's time is taken
/// before it commits, so a slow commit shows up with a time before records already seen.
const MARGIN: Duration = Duration::from_secs(3);
/// Events a browser may fall behind before it skips some (it then reloads its balances anyway).
const BACKLOG: usize = 32;
/// The most records one poll reads.
const BATCH: i64 = 2_000;
/// Stake account owners remembered, at most.
const OWNERS_KEPT: usize = 100_000;

/// The account event hub; cheap to clone.
#[derive(Clone)]
pub struct AccountEvents {
    inner: Arc<Inner>,
}

struct Inner {
    records: Collection<Document>,
    stakes: Collection<Document>,
    poll: Duration,
    /// A channel per wallet with a browser listening.
    listeners: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

/// An event: when its record was made (Unix milliseconds) and its reference.
type Event = (i64, Arc<str>);

/// A wallet's events for one socket; stops listening when dropped.
pub struct Subscription {
    receiver: broadcast::Receiver<Event>,
    /// Records made before the socket opened are in what its page loaded: not news.
    since_ms: i64,
    wallet: String,
    events: AccountEvents,
}

impl Subscription {
    /// The next event's reference; `None` if this subscriber fell behind (some were skipped).
    pub async fn next(&mut self) -> Option<Arc<str>> {
        loop {
            match self.receiver.recv().await {
                Ok((at_ms, _)) if at_ms < self.since_ms => {}
                Ok((_, reference)) => return Some(reference),
                Err(broadcast::error::RecvError::Lagged(_)) => return None,
                // The hub keeps the sender while anyone listens: never closed under a subscriber.
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut listeners = self.events.inner.listeners.lock().expect("listeners lock");
        // This subscription's receiver still counts until it is dropped, after this.
        if listeners.get(&self.wallet).is_some_and(|sender| sender.receiver_count() <= 1) {
            listeners.remove(&self.wallet);
        }
    }
}

impl AccountEvents {
    pub fn new(database: &Database, poll: Duration) -> AccountEvents {
        AccountEvents {
            inner: Arc::new(Inner {
                records: database.collection(solstice_ledger::TRANSACTIONS),
                stakes: database.collection("stake_accounts"),
                poll,
                listeners: Mutex::default(),
            }),
        }
    }

    /// Listens to `wallet`'s events.
    pub fn subscribe(&self, wallet: &WalletAddress) -> Subscription {
        let mut listeners = self.inner.listeners.lock().expect("listeners lock");
        let sender = listeners.entry(wallet.to_string()).or_insert_with(|| broadcast::channel(BACKLOG).0);
        Subscription {
            receiver: sender.subscribe(),
            since_ms: DateTime::now().timestamp_millis(),
            wallet: wallet.to_string(),
            events: self.clone(),
        }
    }

    fn listening(&self) -> bool {
        !self.inner.listeners.lock().expect("listeners lock").is_empty()
    }

    /// Follows the ledger in the background until `closed` completes.
    pub fn start(&self, closed: impl Future<Output = ()> + Send + 'static) {
        let events = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = events.follow() => {}
                () = closed => {}
            }
        });
    }

    async fn follow(self) {
        let mut newest = DateTime::now();
        // References told, with their times, forgotten once older than the margin.
        let mut told: HashMap<String, i64> = HashMap::new();
        let mut owners: HashMap<String, Option<String>> = HashMap::new();
        loop {
            tokio::time::sleep(self.inner.poll).await;
            if !self.listening() {
                // Nobody to tell: what happens meanwhile is not news to anyone.
                newest = DateTime::now();
                told.clear();
                continue;
            }
            match self.poll(&mut newest, &mut told, &mut owners).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(error = %error, "could not read the ledger for account events"),
            }
        }
    }

    async fn poll(
        &self,
        newest: &mut DateTime,
        told: &mut HashMap<String, i64>,
        owners: &mut HashMap<String, Option<String>>,
    ) -> Result<(), mongodb::error::Error> {
        let since = DateTime::from_millis(newest.timestamp_millis() - MARGIN.as_millis() as i64);
        let records: Vec<Document> = self
            .inner
            .records
            .find(doc! { "created_at": { "$gt": since } })
            .projection(doc! { "accounts": 1, "created_at": 1, "details.stake_account": 1, "details.action": 1 })
            .sort(doc! { "created_at": 1 })
            .limit(BATCH)
            .await?
            .try_collect()
            .await?;
        for record in records {
            let (Ok(reference), Ok(at)) = (record.get_str("_id"), record.get_datetime("created_at")) else { continue };
            if told.contains_key(reference) {
                continue;
            }
            told.insert(reference.to_owned(), at.timestamp_millis());
            if at > newest {
                *newest = *at;
            }
            let mut wallets: HashSet<String> = record
                .get_array("accounts")
                .map(|accounts| {
                    accounts
                        .iter()
                        .filter_map(|account| account.as_str()?.strip_prefix("wallet:").map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let details = record.get_document("details").ok();
            if wallets.is_empty()
                && details.and_then(|details| details.get_str("action").ok()) == Some("reward")
                && let Some(stake_account) = details.and_then(|details| details.get_str("stake_account").ok())
            {
                wallets.extend(self.owner(owners, stake_account).await?);
            }
            self.tell(&wallets, reference, at.timestamp_millis());
        }
        let forget_before = newest.timestamp_millis() - 2 * MARGIN.as_millis() as i64;
        told.retain(|_, at| *at >= forget_before);
        Ok(())
    }

    /// The wallet that owns `stake_account`.
    async fn owner(
        &self,
        owners: &mut HashMap<String, Option<String>>,
        stake_account: &str,
    ) -> Result<Option<String>, mongodb::error::Error> {
        if let Some(owner) = owners.get(stake_account) {
            return Ok(owner.clone());
        }
        let found = self.inner.stakes.find_one(doc! { "_id": stake_account }).projection(doc! { "wallet": 1 }).await?;
        let owner = found.and_then(|stake| stake.get_str("wallet").ok().map(str::to_owned));
        if owners.len() >= OWNERS_KEPT {
            owners.clear();
        }
        owners.insert(stake_account.to_owned(), owner.clone());
        Ok(owner)
    }

    fn tell(&self, wallets: &HashSet<String>, reference: &str, at_ms: i64) {
        let listeners = self.inner.listeners.lock().expect("listeners lock");
        let reference: Arc<str> = reference.into();
        for wallet in wallets {
            if let Some(sender) = listeners.get(wallet) {
                let _ = sender.send((at_ms, reference.clone()));
            }
        }
    }
}
