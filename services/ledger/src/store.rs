//! Applying ledger transactions to MongoDB.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use chrono::Utc;
use futures::TryStreamExt;
use mongodb::{
    Client, ClientSession, Collection, Database, IndexModel,
    bson::{DateTime, Document, doc},
    error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT, WriteFailure},
    options::{IndexOptions, ReadConcern, TransactionOptions, WriteConcern},
};
use rand::Rng;
use solstice_types::{Amount, Reference, ReferenceKind, Token};

use crate::{
    AccountId, IdempotencyKey, LedgerError, Leg, Receipt, SideWrite, SystemAccount, TransactionRequest,
    model::{BALANCES, BalanceDoc, EntryDoc, LegDoc, TRANSACTIONS, TransactionDoc, balance_id},
    net_changes,
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

/// Each token's supply, issued once into the system accounts when a ledger is first set up:
/// (token, receiving account, whole tokens).
pub const GENESIS: &[(Token, SystemAccount, u64)] = &[
    (Token::Sol, SystemAccount::Faucet, 100_000_000),
    (Token::Sol, SystemAccount::Treasury, 10_000_000),
    (Token::Sol, SystemAccount::StakeRewards, 1_000_000),
    (Token::Usdc, SystemAccount::Treasury, 2_000_000_000),
    (Token::Usdt, SystemAccount::Treasury, 2_000_000_000),
    (Token::Jup, SystemAccount::Treasury, 2_000_000_000),
    (Token::Bonk, SystemAccount::Treasury, 10_000_000_000_000),
    (Token::Ray, SystemAccount::Treasury, 200_000_000),
    (Token::Jto, SystemAccount::Treasury, 200_000_000),
];

/// Lock stripes for accounts being debited in this process (see [`Ledger::apply`]).
const STRIPES: usize = 64;

/// The ledger, over one MongoDB database.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: Client,
    balances: Collection<BalanceDoc>,
    transactions: Collection<TransactionDoc>,
    database: Database,
    /// Requests in one process that debit the same account (the faucet at a burst of sign-ups,
    /// say) take turns instead of colliding in the database and retrying; across processes,
    /// MongoDB's write-conflict detection and the retries still keep everything correct.
    stripes: std::sync::Arc<[tokio::sync::Mutex<()>; STRIPES]>,
}

/// Read-only access to balances and records, for services that must never write (the
/// portfolio) and for the read side of the others: it has no method that changes anything.
#[derive(Debug, Clone)]
pub struct LedgerReader {
    balances: Collection<BalanceDoc>,
    transactions: Collection<TransactionDoc>,
}

/// One page of an account's records.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub records: Vec<Receipt>,
    /// Pass as `before` for the next page; `None` on the last.
    pub next_before: Option<Reference>,
}

/// Which of an account's records to list, newest first.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub kind: ReferenceKind,
    /// Only records with a leg in this token.
    pub token: Option<Token>,
    /// Only records created at or after this time.
    pub since: Option<chrono::DateTime<Utc>>,
    /// Only records created before this time.
    pub until: Option<chrono::DateTime<Utc>>,
    /// Only records older than this one: the cursor of the next page.
    pub before: Option<Reference>,
    pub limit: u32,
}

impl LedgerReader {
    pub fn new(database: &Database) -> LedgerReader {
        LedgerReader { balances: database.collection(BALANCES), transactions: database.collection(TRANSACTIONS) }
    }

    /// The record with this reference number, if there is one and `account` took part in it.
    /// Anyone else gets `None`, exactly as if it did not exist.
    pub async fn record_of(&self, account: &AccountId, reference: &Reference) -> Result<Option<Receipt>, LedgerError> {
        let filter = doc! { "_id": reference.as_str(), "accounts": account.to_string() };
        match self.transactions.find_one(filter).await? {
            Some(record) => receipt(record, false).map(Some),
            None => Ok(None),
        }
    }

    /// The account's records of one kind, newest first, at most `query.limit` (1 to 100), and
    /// the cursor of the next page when this one is full.
    pub async fn history(&self, account: &AccountId, query: &HistoryQuery) -> Result<HistoryPage, LedgerError> {
        let limit = query.limit.clamp(1, 100);
        let kind = mongodb::bson::to_bson(&query.kind).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let mut filter = doc! { "accounts": account.to_string(), "kind": kind };
        if let Some(token) = query.token {
            filter.insert("legs.token", token.symbol());
        }
        let mut created = Document::new();
        if let Some(since) = query.since {
            created.insert("$gte", DateTime::from_chrono(since));
        }
        if let Some(until) = query.until {
            created.insert("$lt", DateTime::from_chrono(until));
        }
        if !created.is_empty() {
            filter.insert("created_at", created);
        }
        if let Some(before) = &query.before {
            filter.insert("_id", doc! { "$lt": before.as_str() });
        }
        let records: Vec<TransactionDoc> = self
            .transactions
            .find(filter)
            .sort(doc! { "_id": -1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        let records = records.into_iter().map(|record| receipt(record, false)).collect::<Result<Vec<_>, _>>()?;
        let next_before =
            if records.len() == limit as usize { records.last().map(|r| r.reference.clone()) } else { None };
        Ok(HistoryPage { records, next_before })
    }

    /// Every token the account holds or held, with its balance.
    pub async fn balances(&self, account: &AccountId) -> Result<BTreeMap<Token, Amount>, LedgerError> {
        let docs: Vec<BalanceDoc> =
            self.balances.find(doc! { "account": account.to_string() }).await?.try_collect().await?;
        docs.iter().map(|balance| Ok((balance.token, to_amount(balance)?))).collect()
    }
}

/// Whether a token's money is all accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAudit {
    pub token: Token,
    /// Tokens issued: minus the issuance account's balance.
    pub supply: i64,
    /// Sum of every other account's balance.
    pub held: i64,
    /// The lowest balance of any account but issuance (0 when none is below zero).
    pub lowest_balance: i64,
}

impl TokenAudit {
    /// Holds when nothing was created or lost and no balance is negative.
    pub fn is_sound(&self) -> bool {
        self.supply == self.held && self.lowest_balance >= 0
    }
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

fn server_code(error: &mongodb::error::Error) -> Option<i32> {
    match &*error.kind {
        ErrorKind::Write(WriteFailure::WriteError(e)) => Some(e.code),
        ErrorKind::Command(e) => Some(e.code),
        _ => None,
    }
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    server_code(error) == Some(11000)
}

fn is_write_conflict(error: &mongodb::error::Error) -> bool {
    server_code(error) == Some(112)
}

impl Ledger {
    /// Read-only access to the same database.
    pub fn reader(&self) -> LedgerReader {
        LedgerReader::new(&self.database)
    }

    /// A ledger stored in `database`; `client` must be the client that database came from.
    pub fn new(client: Client, database: &Database) -> Ledger {
        Ledger {
            client,
            balances: database.collection(BALANCES),
            transactions: database.collection(TRANSACTIONS),
            database: database.clone(),
            stripes: std::sync::Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
        }
    }

    /// The stripes of the accounts `entries` debit, sorted so that every request takes them in
    /// the same order (no deadlock).
    fn stripes_for(entries: &[EntryDoc]) -> Vec<usize> {
        use std::hash::{Hash, Hasher};
        let mut stripes: Vec<usize> = entries
            .iter()
            .filter(|entry| entry.delta < 0)
            .map(|entry| {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                entry.account.hash(&mut hasher);
                (hasher.finish() % STRIPES as u64) as usize
            })
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
    }

    /// Creates the indexes and issues the genesis supply. Safe to run from every replica at
    /// every start: both steps are idempotent.
    pub async fn init(&self) -> Result<(), LedgerError> {
        let unique = IndexOptions::builder().unique(true).name("idempotency_key_unique".to_owned()).build();
        self.transactions
            .create_index(IndexModel::builder().keys(doc! { "idempotency_key": 1 }).options(unique).build())
            .await?;
        // An account's history of one kind, newest first (references sort by time).
        self.transactions
            .create_index(IndexModel::builder().keys(doc! { "accounts": 1, "kind": 1, "_id": -1 }).build())
            .await?;
        self.balances.create_index(IndexModel::builder().keys(doc! { "account": 1 }).build()).await?;
        for token in Token::ALL {
            let legs: Vec<Leg> = GENESIS
                .iter()
                .filter(|(t, _, _)| *t == token)
                .map(|(token, account, whole)| Leg {
                    from: AccountId::System(SystemAccount::Issuance),
                    to: AccountId::System(*account),
                    token: *token,
                    amount: Amount::from_whole(*whole, token.decimals()).expect("genesis amounts fit a balance"),
                })
                .collect();
            if legs.is_empty() {
                continue;
            }
            let key = IdempotencyKey::new(format!("genesis:v1:{token}"))?;
            self.apply(TransactionRequest::new(ReferenceKind::Genesis, key, legs)).await?;
        }
        Ok(())
    }

    /// Applies a transaction, or returns the receipt of its first application when its
    /// idempotency key was seen before. On any error nothing has moved.
    pub async fn apply(&self, request: TransactionRequest) -> Result<Receipt, LedgerError> {
        let net = net_changes(request.kind, &request.legs)?;
        let fingerprint = request.fingerprint();
        if let Some(first) = self.by_idempotency_key(&request.idempotency_key).await? {
            return replay(first, &fingerprint);
        }
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
            };
            match self.attempt(&record, &request.side_writes).await {
                Ok(()) => return receipt(record, false),
                Err(Attempt::Failed(error)) => return Err(error),
                Err(Attempt::DuplicateKey | Attempt::CommitUncertain) => {
                    if let Some(first) = self.by_idempotency_key(&request.idempotency_key).await? {
                        return settle(first, &record.reference, &fingerprint);
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
    async fn attempt(&self, record: &TransactionDoc, side_writes: &[SideWrite]) -> Result<(), Attempt> {
        let mut session = self.client.start_session().await?;
        let options = TransactionOptions::builder()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::majority())
            .build();
        session.start_transaction().with_options(options).await?;
        if let Err(failure) = self.writes(&mut session, record, side_writes).await {
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
        for entry in &record.entries {
            let id = balance_id(&entry.account, entry.token);
            let account: AccountId =
                entry.account.parse().map_err(|_| Attempt::Failed(LedgerError::Corrupt(entry.account.clone())))?;
            if entry.delta < 0 && !account.may_go_negative() {
                let debited = self
                    .balances
                    .update_one(
                        doc! { "_id": &id, "amount": { "$gte": -entry.delta } },
                        doc! { "$inc": { "amount": entry.delta } },
                    )
                    .session(&mut *session)
                    .await
                    .map_err(retry_on_duplicate)?;
                if debited.matched_count == 0 {
                    return Err(Attempt::Failed(LedgerError::InsufficientFunds { account, token: entry.token }));
                }
            } else {
                self.balances
                    .update_one(
                        doc! { "_id": &id },
                        doc! {
                            "$inc": { "amount": entry.delta },
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

    async fn by_idempotency_key(&self, key: &IdempotencyKey) -> Result<Option<TransactionDoc>, LedgerError> {
        Ok(self.transactions.find_one(doc! { "idempotency_key": key.as_str() }).await?)
    }

    /// The receipt of the transaction with this reference number, if there is one.
    pub async fn find(&self, reference: &Reference) -> Result<Option<Receipt>, LedgerError> {
        match self.transactions.find_one(doc! { "_id": reference.as_str() }).await? {
            Some(record) => receipt(record, false).map(Some),
            None => Ok(None),
        }
    }

    /// The balance of one token in one account (zero if it never held any).
    pub async fn balance(&self, account: &AccountId, token: Token) -> Result<Amount, LedgerError> {
        let id = balance_id(&account.to_string(), token);
        match self.balances.find_one(doc! { "_id": id }).await? {
            Some(balance) => to_amount(&balance),
            None => Ok(Amount::ZERO),
        }
    }

    /// Every token the account holds or held, with its balance.
    pub async fn balances(&self, account: &AccountId) -> Result<BTreeMap<Token, Amount>, LedgerError> {
        let docs: Vec<BalanceDoc> =
            self.balances.find(doc! { "account": account.to_string() }).await?.try_collect().await?;
        docs.iter().map(|balance| Ok((balance.token, to_amount(balance)?))).collect()
    }

    /// Proves, token by token, that the balances add up to the issued supply and that no
    /// balance is negative.
    pub async fn audit(&self) -> Result<Vec<TokenAudit>, LedgerError> {
        let issuance = AccountId::System(SystemAccount::Issuance).to_string();
        let mut audits: BTreeMap<Token, TokenAudit> = Token::ALL
            .into_iter()
            .map(|token| (token, TokenAudit { token, supply: 0, held: 0, lowest_balance: 0 }))
            .collect();
        let mut cursor = self.balances.find(doc! {}).await?;
        while let Some(balance) = cursor.try_next().await? {
            let audit = audits.get_mut(&balance.token).expect("every token is audited");
            if balance.account == issuance {
                audit.supply -= balance.amount;
            } else {
                audit.held += balance.amount;
                audit.lowest_balance = audit.lowest_balance.min(balance.amount);
            }
        }
        Ok(audits.into_values().collect())
    }
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

fn to_amount(balance: &BalanceDoc) -> Result<Amount, LedgerError> {
    u64::try_from(balance.amount)
        .ok()
        .and_then(Amount::from_base_units)
        .ok_or_else(|| LedgerError::Corrupt(format!("balance {} is {}", balance.id, balance.amount)))
}

fn replay(first: TransactionDoc, fingerprint: &str) -> Result<Receipt, LedgerError> {
    if first.fingerprint != fingerprint {
        return Err(LedgerError::IdempotencyConflict(first.idempotency_key));
    }
    receipt(first, true)
}

fn receipt(record: TransactionDoc, replayed: bool) -> Result<Receipt, LedgerError> {
    let corrupt = |what: &str| LedgerError::Corrupt(format!("{what} in {}", record.reference));
    let legs = record
        .legs
        .iter()
        .map(|leg| {
            Ok(Leg {
                from: leg.from.parse().map_err(|_| corrupt("account"))?,
                to: leg.to.parse().map_err(|_| corrupt("account"))?,
                token: leg.token,
                amount: u64::try_from(leg.amount)
                    .ok()
                    .and_then(Amount::from_base_units)
                    .ok_or_else(|| corrupt("amount"))?,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(Receipt {
        reference: Reference::parse(&record.reference).map_err(|_| corrupt("reference"))?,
        kind: record.kind,
        legs,
        created_at: record.created_at.to_chrono(),
        details: record.details,
        replayed,
    })
}
