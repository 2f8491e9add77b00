//! Transactions left open by a process that died.
//!
//! A process killed in the middle of a ledger transaction (SIGKILL, an out-of-memory kill, a
//! lost node) leaves that transaction open in the database: MongoDB keeps it for its whole
//! lifetime (`transactionLifetimeLimitSeconds`, 60 s by default), and until then every document
//! it wrote stays locked. Every request that touches one of them (the user's wallet, a treasury
//! shard, the faucet) meets a write conflict on each try and ends "busy".
//!
//! So each process that applies ledger transactions, once it runs [`Ledger::watch_orphans`],
//! names the database sessions it runs them in, in one document of [`PROCESSES`], before it
//! first uses each one, and beats a counter there every [`HEARTBEAT`]. Every such process also
//! watches the others' counters: a process whose counter has not moved for [`ORPHANED_AFTER`]
//! (by the watcher's own clock, so clocks need not agree) is taken for dead, and its sessions
//! are killed (`killSessions`), which aborts their open transactions at once and frees what
//! they locked.
//!
//! Taking a live process for dead (stalled for that long) costs it nothing but retries: its
//! open transactions abort before they commit, and the ledger redoes them. `killSessions` kills
//! only the calling user's sessions, so processes watch over their own kind (the host's
//! replicas, or one service's, each kind with its database user); transactions in the prepared state of a sharded cluster's
//! two-phase commit are left to the database, which `killSessions` does not touch.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use futures::TryStreamExt;
use mongodb::{
    Client, Collection,
    bson::{Bson, Document, doc},
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Collection of [`ProcessDoc`]: the processes applying ledger transactions and their sessions.
pub const PROCESSES: &str = "ledger_processes";
/// How often a process shows it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a process's heartbeat must stand still before its sessions are killed.
pub const ORPHANED_AFTER: Duration = Duration::from_millis(2_500);

/// How many session names a process keeps before starting its list again.
const MAX_NAMED: usize = 1_024;

#[derive(Debug, Serialize, Deserialize)]
struct ProcessDoc {
    #[serde(rename = "_id")]
    id: String,
    /// Moves on every heartbeat.
    beat: i64,
    /// The session ids (`lsid` documents) this process runs transactions in.
    #[serde(default)]
    sessions: Vec<Document>,
}

/// This process's side: its name and the sessions it has made known.
#[derive(Debug)]
pub(crate) struct Sessions {
    id: String,
    /// The kind of process (its database user), once the heartbeat runs. Sessions are named
    /// only then: a process that named them without beating would look dead to the others.
    kind: std::sync::OnceLock<String>,
    /// The sessions named so far, by the bytes of their id: named again by the heartbeat when
    /// this process's document had gone (another process took this one for dead).
    named: Mutex<HashMap<Vec<u8>, Document>>,
}

impl Sessions {
    pub(crate) fn new() -> Sessions {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
        Sessions {
            id: format!("{host}-{}-{:016x}", std::process::id(), rand::random::<u64>()),
            kind: std::sync::OnceLock::new(),
            named: Mutex::new(HashMap::new()),
        }
    }
}

impl Sessions {
    /// Adds every session named so far to this process's document (just made again).
    async fn name_all(&self, processes: &Collection<Document>) -> mongodb::error::Result<()> {
        let named: Vec<Document> = self.named.lock().expect("named sessions").values().cloned().collect();
        // Added to, never replaced: a session named meanwhile is not dropped by a list taken
        // before it.
        processes
            .update_one(doc! { "_id": &self.id }, doc! { "$addToSet": { "sessions": { "$each": named } } })
            .await?;
        Ok(())
    }
}

/// The bytes of a session id, to tell sessions apart.
fn session_key(lsid: &Document) -> Option<Vec<u8>> {
    match lsid.get("id") {
        Some(Bson::Binary(binary)) => Some(binary.bytes.clone()),
        _ => None,
    }
}

impl crate::Ledger {
    /// Makes sure the session `lsid` is named under this process before a transaction runs in
    /// it: one write the first time a session is used, nothing after.
    pub(crate) async fn name_session(&self, lsid: &Document) -> mongodb::error::Result<()> {
        let sessions = &self.sessions;
        let Some(kind) = sessions.kind.get() else { return Ok(()) };
        let Some(key) = session_key(lsid) else { return Ok(()) };
        let restart = {
            let mut named = sessions.named.lock().expect("named sessions");
            if named.contains_key(&key) {
                return Ok(());
            }
            // The driver replaces sessions that idled past the server's session timeout: the
            // list starts again now and then, and the sessions in use are named again.
            let restart = named.len() >= MAX_NAMED;
            if restart {
                named.clear();
            }
            named.insert(key.clone(), lsid.clone());
            restart
        };
        let update = if restart {
            doc! { "$set": { "kind": kind, "sessions": [lsid] }, "$inc": { "beat": 1 } }
        } else {
            doc! { "$set": { "kind": kind }, "$addToSet": { "sessions": lsid }, "$inc": { "beat": 1 } }
        };
        let processes = self.database.collection::<Document>(PROCESSES);
        let named = match processes.update_one(doc! { "_id": &sessions.id }, update).upsert(true).await {
            // The document had gone (this process was taken for dead): the others in use too.
            Ok(made) if made.upserted_id.is_some() && !restart => sessions.name_all(&processes).await,
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        if named.is_err() {
            // Not named: it must be named before its next transaction.
            sessions.named.lock().expect("named sessions").remove(&key);
        }
        named
    }

    /// Starts this process's heartbeat and its watch over the other processes of its `kind`
    /// (see the module's documentation), as a task that ends once every clone of this ledger
    /// is dropped. `kind` names the processes that connect as one database user (the host,
    /// or one service): `killSessions` kills only the caller's own user's sessions, so each
    /// kind cleans up after its own. Call it once per process, in every process that serves
    /// requests; a process that applies transactions without it is not covered (its orphans
    /// wait for the database's lifetime limit), and is never taken for dead either.
    pub fn watch_orphans(&self, kind: &str) -> tokio::task::JoinHandle<()> {
        let kind = self.sessions.kind.get_or_init(|| kind.to_owned()).clone();
        let watch = Watch {
            kind,
            own: self.sessions.id.clone(),
            sessions: Arc::downgrade(&self.sessions),
            processes: self.database.collection(PROCESSES),
            client: self.client.clone(),
            seen: HashMap::new(),
        };
        tokio::spawn(watch.run())
    }
}

struct Watch {
    kind: String,
    /// This process's name, which it does not watch.
    own: String,
    sessions: Weak<Sessions>,
    processes: Collection<ProcessDoc>,
    client: Client,
    /// Each other process's last counter, and when it was first seen at that value.
    seen: HashMap<String, (i64, Instant)>,
}

impl Watch {
    async fn run(mut self) {
        let mut every = tokio::time::interval(HEARTBEAT);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(sessions) = self.sessions.upgrade() else { return };
            if let Err(error) = self.beat(&sessions).await {
                tracing::warn!(error = %error, "ledger heartbeat failed");
            }
            drop(sessions);
            if let Err(error) = self.reap().await {
                tracing::warn!(error = %error, "could not look for the open transactions of dead processes");
            }
        }
    }

    /// Moves this process's counter on: a small write, unless its document had gone (another
    /// process took this one for dead and removed it), when its sessions are named again.
    async fn beat(&self, sessions: &Sessions) -> mongodb::error::Result<()> {
        let beat = self
            .processes
            .update_one(doc! { "_id": &self.own }, doc! { "$inc": { "beat": 1 }, "$set": { "kind": &self.kind } })
            .upsert(true)
            .await?;
        if beat.upserted_id.is_some() {
            sessions.name_all(&self.processes.clone_with_type()).await?;
        }
        Ok(())
    }

    /// Kills the sessions of every other process whose heartbeat stood still for
    /// [`ORPHANED_AFTER`], and forgets the process.
    async fn reap(&mut self) -> mongodb::error::Result<()> {
        // The counters only: a process's sessions are read when it is taken for dead.
        let processes: Vec<ProcessDoc> = self
            .processes
            .find(doc! { "kind": &self.kind, "_id": { "$ne": &self.own } })
            .projection(doc! { "beat": 1 })
            .await?
            .try_collect()
            .await?;
        let now = Instant::now();
        let present: HashSet<&str> = processes.iter().map(|process| process.id.as_str()).collect();
        self.seen.retain(|id, _| present.contains(id.as_str()));
        for process in &processes {
            let (beat, since) = *self.seen.entry(process.id.clone()).or_insert((process.beat, now));
            if beat != process.beat {
                self.seen.insert(process.id.clone(), (process.beat, now));
                continue;
            }
            if now.duration_since(since) < ORPHANED_AFTER {
                continue;
            }
            let sessions = match self.processes.find_one(doc! { "_id": &process.id }).await? {
                Some(found) => found.sessions,
                None => Vec::new(),
            };
            if !sessions.is_empty() {
                let ids: Vec<Document> =
                    sessions.iter().filter_map(|lsid| lsid.get("id")).map(|id| doc! { "id": id }).collect();
                self.client.database("admin").run_command(doc! { "killSessions": ids }).await?;
            }
            tracing::info!(
                process = %process.id,
                sessions = sessions.len(),
                "a process stopped beating (it exited or died): its sessions were ended, and any transaction it left open aborted"
            );
            // Only if it did not beat meanwhile: a live process keeps its document.
            self.processes.delete_one(doc! { "_id": &process.id, "beat": process.beat }).await?;
            self.seen.remove(&process.id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use solstice_types::{Amount, ReferenceKind, Token, WalletAddress};

    use mongodb::ClientSession;

    use super::*;
    use crate::{
        AccountId, IdempotencyKey, Ledger, LedgerError, Leg, SystemAccount, TransactionRequest,
        model::{BALANCES, balance_id},
    };

    fn pay(from: &AccountId, to: &AccountId, units: u64, key: &str) -> TransactionRequest {
        let leg = Leg {
            from: from.clone(),
            to: to.clone(),
            token: Token::Sol,
            amount: Amount::from_base_units(units).unwrap(),
        };
        TransactionRequest::new(ReferenceKind::Transfer, IdempotencyKey::new(key.to_owned()).unwrap(), vec![leg])
    }

    /// A process of `kind` over database `name` that names its session, debits 500 from
    /// `account` in a transaction it never ends, and then stops beating (its ledger is gone;
    /// its session and transaction stay): the open session and the process's name.
    async fn fall_silent_mid_transaction(name: &str, kind: &str, account: &AccountId) -> (ClientSession, String) {
        let client = mongodb::Client::with_uri_str(solstice_testkit::mongodb_uri()).await.unwrap();
        let database = client.database(name);
        let silent = Ledger::new(client.clone(), &database);
        silent.watch_orphans(kind);
        let mut session = client.start_session().await.unwrap();
        silent.name_session(session.id()).await.unwrap();
        session.start_transaction().await.unwrap();
        database
            .collection::<Document>(BALANCES)
            .update_one(
                doc! { "_id": balance_id(&account.to_string(), Token::Sol) },
                doc! { "$inc": { "amount": -500_i64 } },
            )
            .session(&mut session)
            .await
            .unwrap();
        tokio::time::sleep(HEARTBEAT * 2).await;
        (session, silent.sessions.id.clone())
    }

    /// A process that dies in the middle of a transaction leaves it open, and the wallet it
    /// debited locked, for the database's transaction lifetime (60 s). Another process takes it
    /// for dead once its heartbeat stops, kills its session, and the wallet can pay again after
    /// a few seconds; the dead transaction never commits.
    #[tokio::test]
    async fn a_dead_process_open_transaction_is_aborted_and_its_wallet_pays_again_within_seconds() {
        let (client, database) = solstice_testkit::fresh_database().await;
        let ledger = Ledger::new(client, &database);
        ledger.init().await.unwrap();
        let wallet = |seed: u8| AccountId::wallet(&WalletAddress::from_public_key(&[seed; 32]));
        let (alice, bob) = (wallet(1), wallet(2));
        ledger.apply(pay(&AccountId::System(SystemAccount::Faucet), &alice, 1_000, "fund")).await.unwrap();

        // The process that dies: it debits Alice in a transaction it never ends.
        let (mut session, _) = fall_silent_mid_transaction(database.name(), "test", &alice).await;

        // A live process, watching: Alice's payment goes through once the dead one's
        // transaction is aborted, well before the database would have dropped it.
        ledger.watch_orphans("test");
        let started = Instant::now();
        let limit = Duration::from_secs(20);
        loop {
            match ledger.apply(pay(&alice, &bob, 300, "after-the-crash")).await {
                Ok(_) => break,
                Err(LedgerError::Busy) if started.elapsed() < limit => {}
                Err(error) => panic!("Alice could not pay {:?} after the crash: {error}", started.elapsed()),
            }
        }
        assert!(started.elapsed() < limit);
        assert!(session.commit_transaction().await.is_err(), "the dead process's transaction was aborted");
        assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap().as_i64(), 700);
        assert_eq!(ledger.balance(&bob, Token::Sol).await.unwrap().as_i64(), 300);
        for audit in ledger.audit().await.unwrap() {
            assert!(audit.is_sound(), "{audit:?}");
        }
        // The dead process is forgotten; the live one stays listed.
        let listed = || async {
            let found: Vec<ProcessDoc> =
                database.collection(PROCESSES).find(doc! {}).await.unwrap().try_collect().await.unwrap();
            found.into_iter().map(|process| process.id).collect::<Vec<_>>()
        };
        while listed().await.len() > 1 && started.elapsed() < limit {
            tokio::time::sleep(HEARTBEAT).await;
        }
        assert_eq!(listed().await, std::slice::from_ref(&ledger.sessions.id));
    }

    /// `killSessions` ends only the caller's own user's sessions, so a process watches over its
    /// own kind only: a silent process of another kind is neither reaped nor forgotten, and its
    /// open transaction still commits.
    #[tokio::test]
    async fn a_silent_process_of_another_kind_is_left_alone() {
        let (client, database) = solstice_testkit::fresh_database().await;
        let ledger = Ledger::new(client, &database);
        ledger.init().await.unwrap();
        let alice = AccountId::wallet(&WalletAddress::from_public_key(&[3; 32]));
        ledger.apply(pay(&AccountId::System(SystemAccount::Faucet), &alice, 1_000, "fund")).await.unwrap();

        let (mut session, silent_id) = fall_silent_mid_transaction(database.name(), "swap", &alice).await;

        // A process of another kind watches for longer than it takes to call one dead.
        ledger.watch_orphans("host");
        tokio::time::sleep(ORPHANED_AFTER + HEARTBEAT * 4).await;
        let listed: Vec<ProcessDoc> =
            database.collection(PROCESSES).find(doc! {}).await.unwrap().try_collect().await.unwrap();
        assert!(listed.iter().any(|process| process.id == silent_id), "the other kind's process was forgotten");
        session.commit_transaction().await.expect("the other kind's transaction was left open, and commits");
        assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap().as_i64(), 500);
    }
}
