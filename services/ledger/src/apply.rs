//! Applying ledger transactions to MongoDB: one multi-document transaction per request, retried
//! through write conflicts, settled by its idempotency key when the outcome is uncertain.

use std::time::{Duration, Instant};

use chrono::Utc;
use mongodb::{
    Client, ClientSession, Collection, Database,
    bson::{DateTime, Document, doc},
    error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT},
    options::{ReadConcern, TransactionOptions, WriteConcern},
};
use rand::Rng;
use solstice_types::{Amount, Reference, Token};

use crate::{
    AccountId, IdempotencyKey, LedgerError, LedgerReader, Receipt, SideWrite, TransactionRequest,
    error::{is_duplicate_key, is_write_conflict},
    model::{BALANCES, BalanceDoc, EntryDoc, LegDoc, TRANSACTIONS, TransactionDoc, balance_id},
    net_changes,
    reader::receipt,
};

/// How long one request may keep retrying through write conflicts before answering "busy".
/// Shorter than the host's wait for a service (3 s by default): past that nobody is waiting
/// for the answer, and a request that keeps retrying holds its accounts' turn in this process,
/// so every request behind it would wait too (a killed replica's unfinished transaction, which
/// locks its documents until the database drops it, stalled a whole replica that way). A busy
/// answer is retried by the host with the same idempotency key.
const RETRY_BUDGET: Duration = Duration::from_millis(2_500);
/// Most attempts at a commit whose outcome the server could not report.
const COMMIT_ATTEMPTS: usize = 5;

/// From this many balance changes on (a swap makes five), a transaction moves them all in one
/// command instead of one command each. Measured on both SecantusDB servers: for two balances
/// (a transfer) the single command is slower than two simple ones (its expression is evaluated
/// for each balance); for five it is 1.4 to 2.7 times faster.
const TOGETHER_FROM: usize = 3;

/// One balance change of a transaction being applied.
struct Change<'a> {
    id: String,
    account: AccountId,
    entry: &'a EntryDoc,
    /// A debit that must be covered (every account's but issuance's).
    guarded: bool,
}

/// Lock stripes for accounts being debited in this process (see [`Ledger::apply`]).
const STRIPES: usize = 64;

/// The ledger, over one MongoDB database.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub(crate) client: Client,
    pub(crate) balances: Collection<BalanceDoc>,
    pub(crate) transactions: Collection<TransactionDoc>,
    pub(crate) database: Database,
    reader: LedgerReader,
    /// Requests in one process that debit the same account (the faucet at a burst of sign-ups,
    /// say) take turns instead of colliding in the database and retrying; across processes,
    /// MongoDB's write-conflict detection and the retries still keep everything correct.
    pub(crate) stripes: std::sync::Arc<[tokio::sync::Mutex<()>; STRIPES]>,
    /// The database sessions this process runs transactions in, named for the others to
    /// clean up after it should it die (see [`crate::orphans`]).
    pub(crate) sessions: std::sync::Arc<crate::orphans::Sessions>,
}

/// How one attempt at a transaction ended, when it did not commit.
enum Attempt {
    /// Retry from the start (write conflict, lost connection before commit).
    Transient,
    /// A unique index refused the record: the key was used already, or the reference collided.
    DuplicateKey,
    /// The commit was sent but its outcome could not be learned: look the key up.
    CommitUncertain,
    Failed(LedgerError),
}

impl From<mongodb::error::Error> for Attempt {
    fn from(error: mongodb::error::Error) -> Attempt {
        if is_duplicate_key(&error) {
            Attempt::DuplicateKey
        } else if error.contains_label(TRANSIENT_TRANSACTION_ERROR) || is_write_conflict(&error) {
            Attempt::Transient
        } else {
            Attempt::Failed(LedgerError::Database(error))
        }
    }
}

impl Ledger {
    /// The client the ledger's database came from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Read-only access to the same database.
    pub fn reader(&self) -> &LedgerReader {
        &self.reader
    }

    /// The balance of one token in one account (zero if it never held any).
    pub async fn balance(&self, account: &AccountId, token: Token) -> Result<Amount, LedgerError> {
        self.reader.balance(account, token).await
    }

    /// A ledger stored in `database`; `client` must be the client that database came from.
    pub fn new(client: Client, database: &Database) -> Ledger {
        Ledger {
            client,
            balances: database.collection(BALANCES),
            transactions: database.collection(TRANSACTIONS),
            database: database.clone(),
            reader: LedgerReader::new(database),
            stripes: std::sync::Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
            sessions: std::sync::Arc::new(crate::orphans::Sessions::new()),
        }
    }

    /// The stripes of the accounts `entries` debit, sorted so that every request takes them in
    /// the same order (no deadlock).
    fn stripes_for(entries: &[EntryDoc]) -> Vec<usize> {
        let mut stripes: Vec<usize> =
            entries.iter().filter(|entry| entry.delta < 0).map(|entry| stripe_of(&entry.account)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
    }

    /// Whether no request of this process is debiting `account` right now: a hint for choosing
    /// among interchangeable accounts (a treasury's shards), true only of the moment it is asked.
    pub fn is_idle(&self, account: &AccountId) -> bool {
        self.stripes[stripe_of(&account.to_string())].try_lock().is_ok()
    }

    /// Applies a transaction, or returns the receipt of its first application when its
    /// idempotency key was seen before (then a request with other terms under the same key is
    /// refused). On any error nothing has moved.
    pub async fn apply(&self, request: TransactionRequest) -> Result<Receipt, LedgerError> {
        let net = net_changes(request.kind, &request.legs)?;
        let fingerprint = request.fingerprint();
        // No look-up of the key first: the unique index on it answers a retry (the record's
        // insert is refused, and the first application is read then), which costs a retry one
        // aborted transaction and saves every first request a round trip.
        let entries: Vec<EntryDoc> = net
            .iter()
            .map(|((account, token), delta)| EntryDoc { account: account.to_string(), token: *token, delta: *delta })
            .collect();
        let mut accounts: Vec<String> =
            request.legs.iter().flat_map(|l| [l.from.to_string(), l.to.to_string()]).collect();
        accounts.sort();
        accounts.dedup();
        let legs: Vec<LegDoc> = request
            .legs
            .iter()
            .map(|l| LegDoc {
                from: l.from.to_string(),
                to: l.to.to_string(),
                token: l.token,
                amount: l.amount.as_i64(),
            })
            .collect();

        // The session the attempts run in, named (for the others to end should this process
        // die) before this request waits for its turn: the naming is a write of its own.
        let mut session = self.client.start_session().await?;
        self.name_session(session.id()).await?;
        let mut _turns = Vec::new();
        for stripe in Self::stripes_for(&entries) {
            _turns.push(self.stripes[stripe].lock().await);
        }
        let deadline = Instant::now() + RETRY_BUDGET;
        let mut backoff = Duration::from_millis(1);
        loop {
            let now = Utc::now();
            let random = rand::thread_rng().r#gen::<u32>() >> 2;
            let record = TransactionDoc {
                reference: Reference::new(request.kind, now.timestamp_millis() as u64, random).to_string(),
                kind: request.kind,
                idempotency_key: request.idempotency_key.as_str().to_owned(),
                fingerprint: fingerprint.clone(),
                legs: legs.clone(),
                entries: entries.clone(),
                accounts: accounts.clone(),
                created_at: DateTime::from_millis(now.timestamp_millis()),
                details: request.details.clone(),
                once: request.once.clone(),
            };
            match self.attempt(&mut session, &record, &request.side_writes).await {
                Ok(()) => return receipt(record, false),
                Err(Attempt::Failed(error)) => return Err(error),
                Err(Attempt::DuplicateKey | Attempt::CommitUncertain) => {
                    if let Some(first) = self.by_idempotency_key(&request.idempotency_key).await? {
                        return settle(first, &record.reference, &fingerprint);
                    }
                    if let Some(once) = &request.once
                        && self.transactions.find_one(doc! { "once": once }).await?.is_some()
                    {
                        return Err(LedgerError::AlreadyDone(once.clone()));
                    }
                    // Otherwise the commit did not happen, or two references collided in the
                    // same millisecond: try again with a new reference.
                }
                Err(Attempt::Transient) => {}
            }
            if Instant::now() >= deadline {
                // A last look, in case an attempt whose outcome was unknown did commit.
                return match self.by_idempotency_key(&request.idempotency_key).await? {
                    Some(first) => settle(first, &record.reference, &fingerprint),
                    None => Err(LedgerError::Busy),
                };
            }
            let jitter = rand::thread_rng().gen_range(0..=backoff.as_micros() as u64);
            tokio::time::sleep(backoff / 2 + Duration::from_micros(jitter / 2)).await;
            backoff = (backoff * 2).min(Duration::from_millis(64));
        }
    }

    /// One try at the whole transaction; commits only if every write succeeded.
    async fn attempt(
        &self,
        session: &mut ClientSession,
        record: &TransactionDoc,
        side_writes: &[SideWrite],
    ) -> Result<(), Attempt> {
        let options = TransactionOptions::builder()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::majority())
            .build();
        session.start_transaction().with_options(options).await?;
        if let Err(failure) = self.writes(session, record, side_writes).await {
            // Aborting is best effort: an abandoned transaction is rolled back by the server.
            let _ = session.abort_transaction().await;
            return Err(failure);
        }
        for attempt in 0..COMMIT_ATTEMPTS {
            match session.commit_transaction().await {
                Ok(()) => return Ok(()),
                // The driver already retried once; give the server a moment before asking again.
                Err(error) if error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => {
                    tokio::time::sleep(Duration::from_millis(10 << attempt)).await;
                }
                // The server says the commit did not happen and the whole transaction may be redone.
                Err(error) if error.contains_label(TRANSIENT_TRANSACTION_ERROR) => return Err(Attempt::Transient),
                Err(error) => {
                    tracing::warn!(error = %error, "commit failed; checking whether it went through");
                    return Err(Attempt::CommitUncertain);
                }
            }
        }
        Err(Attempt::CommitUncertain)
    }

    async fn writes(
        &self,
        session: &mut ClientSession,
        record: &TransactionDoc,
        side_writes: &[SideWrite],
    ) -> Result<(), Attempt> {
        // A duplicate key here means the idempotency key (or, very rarely, the reference) is taken.
        self.transactions.insert_one(record).session(&mut *session).await?;
        // Side writes first: when one's precondition fails (a quote already used, a stake
        // already withdrawn), that is the answer, not a shortfall the balances would report.
        for write in side_writes {
            match write {
                SideWrite::Insert { collection, document, reference_field } => {
                    let mut document = document.clone();
                    if let Some(field) = reference_field {
                        document.insert(field.as_str(), record.reference.as_str());
                    }
                    self.database
                        .collection::<Document>(collection)
                        .insert_one(document)
                        .session(&mut *session)
                        .await?;
                }
                SideWrite::Update { collection, filter, update } => {
                    let updated = self
                        .database
                        .collection::<Document>(collection)
                        .update_one(filter.clone(), update.clone())
                        .session(&mut *session)
                        .await
                        .map_err(|error| side_write_failed(error, collection))?;
                    if updated.matched_count != 1 {
                        return Err(Attempt::Failed(LedgerError::Precondition(collection.clone())));
                    }
                }
            }
        }
        self.move_balances(session, record).await
    }

    /// Applies a transaction's net changes to the balances, a debited balance (but issuance's)
    /// only if it covers the debit: one command per balance, or, from [`TOGETHER_FROM`]
    /// balances on, one command for all of them.
    async fn move_balances(&self, session: &mut ClientSession, record: &TransactionDoc) -> Result<(), Attempt> {
        let mut changes = Vec::with_capacity(record.entries.len());
        for entry in &record.entries {
            let account: AccountId =
                entry.account.parse().map_err(|_| Attempt::Failed(LedgerError::Corrupt(entry.account.clone())))?;
            let guarded = entry.delta < 0 && !account.may_go_negative();
            changes.push(Change { id: balance_id(&entry.account, entry.token), account, entry, guarded });
        }
        if changes.len() >= TOGETHER_FROM {
            return self.move_together(session, record, &changes).await;
        }
        for change in &changes {
            let Change { id, account, entry, guarded } = change;
            if *guarded {
                let debited = self
                    .balances
                    .update_one(
                        doc! { "_id": id, "amount": { "$gte": -entry.delta } },
                        doc! { "$inc": { "amount": entry.delta }, "$set": { "moved_by": &record.reference } },
                    )
                    .session(&mut *session)
                    .await
                    .map_err(retry_on_duplicate)?;
                if debited.matched_count == 0 {
                    return Err(Attempt::Failed(LedgerError::InsufficientFunds {
                        account: account.clone(),
                        token: entry.token,
                    }));
                }
            } else {
                self.balances
                    .update_one(
                        doc! { "_id": id },
                        doc! {
                            "$inc": { "amount": entry.delta },
                            "$set": { "moved_by": &record.reference },
                            "$setOnInsert": { "account": &entry.account, "token": entry.token.symbol() },
                        },
                    )
                    .upsert(true)
                    .session(&mut *session)
                    .await
                    .map_err(retry_on_duplicate)?;
            }
        }
        Ok(())
    }

    /// All of a transaction's balance changes in one update: each balance found by key moves by
    /// its own change (a `$switch` on its key), unless it is a guarded debit it does not cover,
    /// and is marked with the transaction's reference. When not every balance moved, a look at
    /// them tells which did not: a credit to a balance that does not exist yet is made as a new
    /// document; a debit not covered fails the whole transaction.
    async fn move_together(
        &self,
        session: &mut ClientSession,
        record: &TransactionDoc,
        changes: &[Change<'_>],
    ) -> Result<(), Attempt> {
        let ids: Vec<&String> = changes.iter().map(|change| &change.id).collect();
        let by_id = |value: &dyn Fn(&Change) -> mongodb::bson::Bson| {
            let branches: Vec<Document> = changes
                .iter()
                .map(|change| doc! { "case": { "$eq": ["$_id", &change.id] }, "then": value(change) })
                .collect();
            branches
        };
        let deltas = by_id(&|change| change.entry.delta.into());
        let guarded = by_id(&|change| change.guarded.into());
        let short = doc! { "$and": ["$_guarded", { "$lt": [{ "$add": ["$amount", "$_delta"] }, 0_i64] }] };
        let update = vec![
            doc! { "$set": {
                "_delta": { "$switch": { "branches": deltas, "default": 0_i64 } },
                "_guarded": { "$switch": { "branches": guarded, "default": false } },
            } },
            doc! { "$set": {
                "amount": { "$cond": [&short, "$amount", { "$add": ["$amount", "$_delta"] }] },
                "moved_by": { "$cond": [&short, "$moved_by", &record.reference] },
            } },
            doc! { "$unset": ["_delta", "_guarded"] },
        ];
        let moved = self.balances.update_many(doc! { "_id": { "$in": &ids } }, update).session(&mut *session).await?;
        if moved.matched_count as usize == changes.len() && moved.modified_count as usize == changes.len() {
            return Ok(());
        }
        let mut found = self.balances.find(doc! { "_id": { "$in": &ids } }).session(&mut *session).await?;
        let mut seen = std::collections::HashMap::new();
        while let Some(balance) = found.next(&mut *session).await.transpose()? {
            seen.insert(balance.id, balance.moved_by.as_deref() == Some(record.reference.as_str()));
        }
        for Change { id, account, entry, guarded } in changes {
            match seen.get(id) {
                Some(true) => {}
                _ if *guarded => {
                    return Err(Attempt::Failed(LedgerError::InsufficientFunds {
                        account: account.clone(),
                        token: entry.token,
                    }));
                }
                // Present yet not moved: it cannot be, in one snapshot; start again.
                Some(false) => return Err(Attempt::Transient),
                None => {
                    let balance = BalanceDoc {
                        id: id.clone(),
                        account: entry.account.clone(),
                        token: entry.token,
                        amount: entry.delta,
                        moved_by: Some(record.reference.clone()),
                    };
                    // Two transactions creating the same balance at once: the loser starts again.
                    self.balances.insert_one(balance).session(&mut *session).await.map_err(retry_on_duplicate)?;
                }
            }
        }
        Ok(())
    }

    /// The receipt of the transaction applied under `key`, if there is one, as a replay: for a
    /// caller whose request is not a pure function of its input (a swap filled at the live
    /// price), so that a retry answers with the first outcome instead of computing a new one.
    pub async fn replay(&self, key: &IdempotencyKey) -> Result<Option<Receipt>, LedgerError> {
        self.by_idempotency_key(key).await?.map(|first| receipt(first, true)).transpose()
    }

    async fn by_idempotency_key(&self, key: &IdempotencyKey) -> Result<Option<TransactionDoc>, LedgerError> {
        Ok(self.transactions.find_one(doc! { "idempotency_key": key.as_str() }).await?)
    }
}

/// The lock stripe of an account.
pub(crate) fn stripe_of(account: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    account.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

/// Two transactions creating the same balance at once can race on its key; the loser retries.
fn retry_on_duplicate(error: mongodb::error::Error) -> Attempt {
    if is_duplicate_key(&error) { Attempt::Transient } else { error.into() }
}

/// A side write's unique index refusing a document will refuse it on every retry too.
fn side_write_failed(error: mongodb::error::Error, collection: &str) -> Attempt {
    if is_duplicate_key(&error) {
        Attempt::Failed(LedgerError::Precondition(collection.to_owned()))
    } else {
        error.into()
    }
}

/// The outcome of a request whose key is already recorded: this attempt's own commit (when the
/// reference is the one it wrote), or an earlier application that a retry replays.
fn settle(first: TransactionDoc, own_reference: &str, fingerprint: &str) -> Result<Receipt, LedgerError> {
    if first.reference == own_reference { receipt(first, false) } else { replay(first, fingerprint) }
}

fn replay(first: TransactionDoc, fingerprint: &str) -> Result<Receipt, LedgerError> {
    if first.fingerprint != fingerprint {
        return Err(LedgerError::IdempotencyConflict(first.idempotency_key));
    }
    receipt(first, true)
}
