//! Reading the ledger: balances, an account's records and receipts. Nothing here writes.

use std::collections::BTreeMap;

use chrono::Utc;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{DateTime, Document, doc},
};
use solstice_types::{Amount, Reference, ReferenceKind, Token};

use crate::{
    AccountId, LedgerError, Leg, Receipt,
    model::{BALANCES, BalanceDoc, TRANSACTIONS, TransactionDoc, balance_id},
};

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

/// Records fetched per round trip when reading a whole history.
const BATCH: u32 = 2_000;

/// Records one account may have in the same millisecond as a page's cursor, at most: the
/// ledger applies an account's transactions one after another, so there are hardly ever two.
const TIES: usize = 16;

/// The last instant of year 9999 (Unix milliseconds): what every store can represent.
const LATEST_DATE_MS: i64 = 253_402_300_799_999;

/// Which records to list with [`LedgerReader::records`]: built from the conditions below, all
/// of which must hold.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter(Document);

impl RecordFilter {
    /// Records `account` took part in.
    pub fn involving(account: &AccountId) -> RecordFilter {
        RecordFilter(doc! { "accounts": account.to_string() })
    }

    /// Rewards paid into the stake pool for these stake accounts (the wallet that owns them takes
    /// no part in those records), leaving out any `account` took part in.
    pub fn rewards_of(stake_accounts: &[String], account: &AccountId) -> RecordFilter {
        RecordFilter(doc! {
            "details.stake_account": { "$in": stake_accounts },
            "details.action": "reward",
            "accounts": { "$ne": account.to_string() },
        })
    }

    pub fn kind(mut self, kind: ReferenceKind) -> RecordFilter {
        if let Ok(kind) = mongodb::bson::to_bson(&kind) {
            self.0.insert("kind", kind);
        }
        self
    }

    /// The `action` its service recorded in its details ("stake", "withdraw", "reward").
    pub fn action(mut self, action: &str) -> RecordFilter {
        self.0.insert("details.action", action);
        self
    }

    /// With a leg paid by `account`.
    pub fn paid_by(mut self, account: &AccountId) -> RecordFilter {
        self.0.insert("legs.from", account.to_string());
        self
    }

    /// With a leg paid to `account`.
    pub fn paid_to(mut self, account: &AccountId) -> RecordFilter {
        self.0.insert("legs.to", account.to_string());
        self
    }

    /// With a leg in `token`.
    pub fn token(mut self, token: Token) -> RecordFilter {
        self.0.insert("legs.token", token.symbol());
        self
    }

    /// Created in `[since_ms, until_ms)` (Unix milliseconds), each bound when given.
    pub fn created(mut self, since_ms: Option<i64>, until_ms: Option<i64>) -> RecordFilter {
        let mut created = Document::new();
        if let Some(since) = since_ms {
            created.insert("$gte", DateTime::from_millis(since));
        }
        if let Some(until) = until_ms {
            created.insert("$lt", DateTime::from_millis(until));
        }
        if !created.is_empty() {
            self.0.insert("created_at", created);
        }
        self
    }
}

impl LedgerReader {
    /// Records matching `filter`, newest first (by creation time, then reference), at most
    /// `limit` (1 to 2,000), starting after `before` in that order.
    pub async fn records(
        &self,
        filter: &RecordFilter,
        before: Option<&Reference>,
        limit: u32,
    ) -> Result<Vec<Receipt>, LedgerError> {
        self.newest_first(filter, before, limit).await
    }

    /// Every record matching `filter`, oldest first, in one query whose results the driver
    /// fetches in batches, each turned into a receipt as it arrives.
    pub async fn all_records_oldest_first(&self, filter: &RecordFilter) -> Result<Vec<Receipt>, LedgerError> {
        let mut cursor =
            self.transactions.find(filter.0.clone()).sort(doc! { "created_at": 1, "_id": 1 }).batch_size(BATCH).await?;
        let mut receipts = Vec::new();
        while let Some(record) = cursor.try_next().await? {
            receipts.push(receipt(record, false)?);
        }
        Ok(receipts)
    }

    /// Newest first, past `cursor`.
    async fn newest_first(
        &self,
        filter: &RecordFilter,
        cursor: Option<&Reference>,
        limit: u32,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let limit = limit.clamp(1, 2_000) as usize;
        let mut query = filter.0.clone();
        let mut past = None;
        if let Some(cursor) = cursor {
            // A plain range on the time, which every store answers from the index; records of
            // the cursor's very millisecond are then kept only past the cursor's reference.
            // Years past 9999 are beyond some stores' dates; every record is older anyway.
            let at_ms = (cursor.unix_millis() as i64).min(LATEST_DATE_MS);
            query = doc! { "$and": [query, { "created_at": { "$lte": DateTime::from_millis(at_ms) } }] };
            past = Some((at_ms, cursor.as_str()));
        }
        let records: Vec<TransactionDoc> = self
            .transactions
            .find(query)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit((limit + TIES) as i64)
            .await?
            .try_collect()
            .await?;
        let is_past = |record: &TransactionDoc| match past {
            Some((at_ms, reference)) if record.created_at.timestamp_millis() == at_ms => {
                record.reference.as_str() < reference
            }
            _ => true,
        };
        let records: Vec<TransactionDoc> = records.into_iter().filter(is_past).take(limit).collect();
        records.into_iter().map(|record| receipt(record, false)).collect()
    }

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

    /// The receipt of the transaction with this reference number, whoever took part in it.
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
}

fn to_amount(balance: &BalanceDoc) -> Result<Amount, LedgerError> {
    u64::try_from(balance.amount)
        .ok()
        .and_then(Amount::from_base_units)
        .ok_or_else(|| LedgerError::Corrupt(format!("balance {} is {}", balance.id, balance.amount)))
}

pub(crate) fn receipt(record: TransactionDoc, replayed: bool) -> Result<Receipt, LedgerError> {
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
