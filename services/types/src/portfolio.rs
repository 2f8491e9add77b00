//! The portfolio service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Token, UsdPrice, UsdValue, WalletAddress};

/// One token a wallet holds, valued at the live price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The ranges the value chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ValueRange {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "all")]
    All,
}

impl ValueRange {
    pub const ALL: [ValueRange; 4] = [ValueRange::Day, ValueRange::Week, ValueRange::Month, ValueRange::All];

    /// As in URLs: "24h", "7d", "30d", "all".
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueRange::Day => "24h",
            ValueRange::Week => "7d",
            ValueRange::Month => "30d",
            ValueRange::All => "all",
        }
    }

    /// For people: "24 hours", "7 days"...
    pub const fn label(self) -> &'static str {
        match self {
            ValueRange::Day => "24 hours",
            ValueRange::Week => "7 days",
            ValueRange::Month => "30 days",
            ValueRange::All => "All time",
        }
    }

    pub fn parse(text: &str) -> Option<ValueRange> {
        ValueRange::ALL.into_iter().find(|range| range.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The wallet's total value (staked SOL included) at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValuePoint {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub value: UsdValue,
}

/// What a token cost the wallet, against what it is worth now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCost {
    pub token: Token,
    /// Held now, in base units (SOL: staked included).
    pub amount: Amount,
    /// What the amount held cost, at the average cost of every acquisition (swaps at their fill
    /// price, transfers in, the airdrop and rewards at the price of their moment); `None` when
    /// an acquisition is older than the prices kept.
    pub cost: Option<UsdValue>,
    pub value: UsdValue,
    /// Unrealised profit (positive) or loss, in picodollars.
    pub pnl: Option<i128>,
    /// The same against the cost, in basis points.
    pub pnl_bps: Option<i64>,
}

/// The wallet's value over a range and what each holding cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueHistory {
    pub range: ValueRange,
    /// Oldest first; the last is now, at the live prices. Moments with a held token unpriced
    /// are left out rather than drawn wrong.
    pub points: Vec<ValuePoint>,
    /// From the first point to the last, in picodollars and basis points.
    pub change: Option<i128>,
    pub change_bps: Option<i64>,
    /// Largest value first.
    pub tokens: Vec<TokenCost>,
}
