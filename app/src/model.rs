//! The types that travel between the host and the browser besides the services' own: the
//! server functions ([`crate::api`]) return them and the host's half ([`crate::backend`])
//! builds them. Both import from here, so the two never import each other.

use serde::{Deserialize, Serialize};
use solstice_types::{Amount, Reference, Token, UsdPrice, WalletAddress};

/// The logged-in user, as the app shell shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub address: WalletAddress,
    pub sol_balance: Amount,
}

/// A new account, just created and logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUp {
    pub address: WalletAddress,
    pub sol_balance: Amount,
    /// The reference of the initial credit from the faucet.
    pub airdrop: Reference,
}

/// One token's price in a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPrice {
    pub token: Token,
    pub price: UsdPrice,
    /// Change over the last 24 hours, in basis points; absent when the feed has no price then.
    pub change_24h_bps: Option<i64>,
}

/// Every token's price at one moment: what `/ws/prices` pushes to browsers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTick {
    /// Increases by one with every tick of the host that sent it.
    pub seq: u64,
    /// When the prices were taken, in Unix milliseconds.
    pub at_ms: i64,
    pub prices: Vec<TokenPrice>,
}
