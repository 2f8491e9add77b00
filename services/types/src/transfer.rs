//! The transfer service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Reference, Token, WalletAddress};

/// Longest memo, in characters.
pub const MAX_MEMO_CHARS: usize = 140;

/// A request to send tokens to another wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendTransfer {
    /// The recipient's wallet address.
    pub to: String,
    /// Token symbol, such as `SOL`.
    pub token: String,
    /// Decimal amount in whole tokens, such as `"1.25"`.
    pub amount: String,
    #[serde(default)]
    pub memo: Option<String>,
    /// Chosen by the client per send; a retry with the same key returns the first result.
    pub idempotency_key: String,
}

/// Whether the caller sent or received a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Sent,
    Received,
}

/// A transfer, as its sender or recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub reference: Reference,
    pub direction: Direction,
    pub from: WalletAddress,
    pub to: WalletAddress,
    pub token: Token,
    /// Base units.
    pub amount: Amount,
    pub memo: Option<String>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
}

/// One page of a wallet's transfers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferPage {
    pub transfers: Vec<Transfer>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<Reference>,
}

/// A wallet that can receive transfers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub address: WalletAddress,
}
