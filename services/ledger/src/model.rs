//! How the ledger is stored in MongoDB.

use mongodb::bson::{DateTime, Document};
use serde::{Deserialize, Serialize};
use solstice_types::{ReferenceKind, Token};

/// Collection of [`BalanceDoc`]: one document per (account, token) that ever held money.
pub const BALANCES: &str = "balances";
/// Collection of [`TransactionDoc`]: one per applied ledger transaction.
pub const TRANSACTIONS: &str = "ledger_transactions";

/// A balance. `_id` is `"{account}/{TOKEN}"` so that a balance is found and updated by key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BalanceDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub account: String,
    pub token: Token,
    /// Base units. Non-negative for every account but issuance.
    pub amount: i64,
    /// The reference of the last transaction that moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_by: Option<String>,
}

pub fn balance_id(account: &str, token: Token) -> String {
    format!("{account}/{token}")
}

/// The record of an applied ledger transaction. `_id` is its reference number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionDoc {
    #[serde(rename = "_id")]
    pub reference: String,
    pub kind: ReferenceKind,
    pub idempotency_key: String,
    /// Hash of the request, to tell a retry from a different request reusing the key.
    pub fingerprint: String,
    pub legs: Vec<LegDoc>,
    /// Net change per account and token: what was applied to the balances.
    pub entries: Vec<EntryDoc>,
    /// The accounts touched, for finding an account's history by index.
    pub accounts: Vec<String>,
    pub created_at: DateTime,
    /// What the service that moved the money records with it (a transfer's memo, a swap's
    /// rate and fee), returned with the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Document>,
    /// What no other record may carry (see [`crate::TransactionRequest::once`]): unique where
    /// present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegDoc {
    pub from: String,
    pub to: String,
    pub token: Token,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryDoc {
    pub account: String,
    pub token: Token,
    pub delta: i64,
}
