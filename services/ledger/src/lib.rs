//! The ledger core: every movement of money in Solstice is one [`TransactionRequest`] of
//! balanced legs, applied together with its balance changes and its record in a single
//! MongoDB multi-document transaction.
//!
//! What holds, whatever the concurrency, retries or crashes:
//! - each leg takes from one account exactly what it gives to another, so the sum of all
//!   balances of a token (the issuance account's negative balance included) stays zero;
//! - no balance but the issuance account's ever goes below zero;
//! - a request's idempotency key is applied at most once; a retry gets the first receipt.

mod account;
mod apply;
mod audit;
mod error;
mod genesis;
mod model;
mod orphans;
mod reader;
mod shards;
mod transaction;

pub use account::{AccountId, MAX_SHARDS, SystemAccount};
pub use apply::Ledger;
pub use audit::TokenAudit;
pub use error::{LedgerError, database_error, is_duplicate_key, is_transient};
pub use genesis::GENESIS;
pub use model::{BALANCES, TRANSACTIONS};
pub use orphans::{HEARTBEAT, ORPHANED_AFTER, PROCESSES};
pub use reader::{HistoryPage, HistoryQuery, LedgerReader, RecordFilter};
pub use shards::{REBALANCES, ShardMove, rebalancing_plan};
pub use transaction::{IdempotencyKey, Leg, Receipt, SideWrite, TransactionRequest, net_changes};
