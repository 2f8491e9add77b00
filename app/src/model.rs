//! The types that travel between the host and the browser besides the services' own: the
//! server functions ([`crate::api`]) return them and the host's half ([`crate::backend`])
//! builds them. Both import from here, so the two never import each other.

use serde::{Deserialize, Serialize};
use solstice_market::MarketKind;
use solstice_types::{Amount, Reference, Token, UsdPrice, WalletAddress};

/// The logged-in user, as the app shell shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub address: WalletAddress,
    pub sol_balance: Amount,
}

/// A QR code drawn by the host: `size` modules a side, quiet zone included, and the SVG path
/// of its dark modules (`backend::qr`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrDrawing {
    pub size: u32,
    pub path: String,
}

/// A wallet's address, to give to people who will send to it, and the same as a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressQr {
    pub address: WalletAddress,
    pub qr: QrDrawing,
}

/// A new account, just created and logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUp {
    pub address: WalletAddress,
    pub sol_balance: Amount,
    /// The reference of the initial credit from the faucet.
    pub airdrop: Reference,
}

/// What the faucet can credit a new wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaucetBudget {
    /// The most one new wallet may ask for.
    pub per_wallet: Amount,
    /// What the faucet can still give the visitor's network today.
    pub left_today: Amount,
}

/// One token's price in a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPrice {
    pub token: Token,
    pub price: UsdPrice,
    /// Change over the last 24 hours, in basis points; absent when no price of then is known.
    pub change_24h_bps: Option<i64>,
    /// The sources disagree about this price: shown, but swaps in the token are paused.
    #[serde(default)]
    pub suspect: bool,
}

/// Every token's price at one moment: what `/ws/prices` pushes to browsers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTick {
    /// The tick's number, the same on every host (0: no tick yet).
    pub seq: u64,
    /// When the prices were taken, in Unix milliseconds (the market recorder's clock).
    pub at_ms: i64,
    /// When the host sent this, by its clock: `sent_ms - at_ms` is the tick's age then.
    pub sent_ms: i64,
    /// Prices older than this many milliseconds are stale.
    pub fresh_ms: i64,
    /// Live or simulated; absent before the first tick.
    pub market: Option<MarketKind>,
    /// The sources the prices come from ("coinbase", "kraken", "simulated").
    pub sources: Vec<String>,
    pub prices: Vec<TokenPrice>,
}

impl PriceTick {
    /// The tick's age in milliseconds when it was sent.
    pub fn age_when_sent_ms(&self) -> i64 {
        (self.sent_ms - self.at_ms).max(0)
    }
}
