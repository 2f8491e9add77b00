//! The portfolio service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Token, UsdPrice, UsdValue, WalletAddress};

/// One token a wallet holds, valued at the live price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub token: Token,
    /// Base units of the token.
    pub amount: Amount,
    pub price: UsdPrice,
    pub value: UsdValue,
    /// The price's change over 24 hours, in basis points, when known.
    pub change_24h_bps: Option<i64>,
    /// This holding's share of the portfolio's value, in basis points.
    pub share_bps: u32,
}

/// SOL the wallet has staked (principal and compounded rewards, not yet withdrawn).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staked {
    /// Lamports in the wallet's stake accounts, rewards included.
    pub amount: Amount,
    /// Rewards earned by those stake accounts, in lamports.
    pub rewards: Amount,
    pub value: UsdValue,
    /// Share of the portfolio's value, in basis points.
    pub share_bps: u32,
}

/// A wallet's holdings and what they are worth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portfolio {
    pub wallet: WalletAddress,
    /// Largest value first; tokens the wallet holds none of are left out.
    pub holdings: Vec<Holding>,
    /// Staked SOL, counted in the total.
    #[serde(default)]
    pub staked: Staked,
    pub total_value: UsdValue,
    /// Change of the total over 24 hours at today's amounts, in basis points, when known.
    pub change_24h_bps: Option<i64>,
    /// When the prices were taken, in Unix milliseconds (the oldest, when they differ).
    pub priced_at_ms: i64,
    /// The prices are older than the freshness bound (the sources or the recorder are down):
    /// the values are as of `priced_at_ms`.
    #[serde(default)]
    pub prices_stale: bool,
}
