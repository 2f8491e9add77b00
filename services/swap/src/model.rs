//! How the exchange stores what it records: the details a swap's ledger record carries. Amounts are base units and prices picodollars, as `i64`
//! (BSON has no unsigned integers); reading them back checks them.

use serde::{Deserialize, Serialize};
use solstice_types::{Amount, Token, UsdPrice, swap::SwapSide};

use crate::error::SwapError;

/// What a swap's ledger record carries besides its legs. Amounts and prices are those of the
/// fill; the quoted ones are kept beside them for the receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SwapDetails {
    pub quote_id: String,
    pub side: SwapSide,
    pub from: Token,
    pub to: Token,
    pub amount_in: i64,
    pub amount_out: i64,
    /// Absent on swaps filled at their quoted amounts (before fills were live).
    #[serde(default)]
    pub quoted_amount_in: Option<i64>,
    #[serde(default)]
    pub quoted_amount_out: Option<i64>,
    #[serde(default)]
    pub min_received: Option<i64>,
    #[serde(default)]
    pub max_sold: Option<i64>,
    /// The number of the tick the swap was filled on.
    #[serde(default)]
    pub tick: Option<i64>,
    pub fee: i64,
    pub fee_bps: u32,
    pub price_impact_bps: u32,
    pub slippage_bps: u32,
    pub quoted_price_in: i64,
    pub quoted_price_out: i64,
    pub price_in: i64,
    pub price_out: i64,
}

/// A stored amount.
pub(crate) fn amount(units: i64) -> Result<Amount, SwapError> {
    u64::try_from(units).ok().and_then(Amount::from_base_units).ok_or(SwapError::Corrupt("amount"))
}

/// A stored price.
pub(crate) fn price(picodollars: i64) -> Result<UsdPrice, SwapError> {
    u64::try_from(picodollars).map(UsdPrice::from_picodollars).map_err(|_| SwapError::Corrupt("price"))
}

/// A price to store; one past what a stored price can hold is more than the exchange fills.
pub(crate) fn price_i64(price: UsdPrice) -> Result<i64, SwapError> {
    i64::try_from(price.picodollars()).map_err(|_| SwapError::TooLarge)
}
