//! The swap service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Reference, Token, UsdPrice};

/// Default slippage tolerance: 0.5 %.
pub const DEFAULT_SLIPPAGE_BPS: u32 = 50;
/// Slippage tolerances offered as one-tap choices.
pub const SLIPPAGE_PRESETS_BPS: [u32; 3] = [10, 50, 100];
/// Bounds of a custom slippage tolerance: 0.01 % to 5 %.
pub const MIN_SLIPPAGE_BPS: u32 = 1;
pub const MAX_SLIPPAGE_BPS: u32 = 500;

/// Which side of a swap the user fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SwapSide {
    /// Sell exactly `amount` of the from-token.
    ExactIn,
    /// Receive exactly `amount` of the to-token.
    ExactOut,
}

/// A request for a firm quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteRequest {
    pub from: String,
    pub to: String,
    /// Decimal amount in whole tokens of the fixed side.
    pub amount: String,
    pub side: SwapSide,
    /// Slippage tolerance in basis points; the default when absent.
    #[serde(default)]
    pub slippage_bps: Option<u32>,
}

/// A swap priced at the latest prices, executable until `expires_at_ms`. It fills at the
/// prices of the moment it is executed, within `min_received` / `max_sold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    pub id: String,
    pub from: Token,
    pub to: Token,
    pub side: SwapSide,
    /// What the user pays, in base units of `from`.
    pub amount_in: Amount,
    /// What the user receives after the fee, in base units of `to`.
    pub amount_out: Amount,
    /// The exchange's fee, in base units of `to`, already taken from `amount_out`.
    pub fee: Amount,
    pub fee_bps: u32,
    /// How much worse than the market price the order's size makes the fill, in basis points.
    pub price_impact_bps: u32,
    /// The prices the quote was made at.
    pub price_in: UsdPrice,
    pub price_out: UsdPrice,
    /// The number of the price tick the quote was made on.
    #[serde(default)]
    pub tick: u64,
    pub slippage_bps: u32,
    /// The least the user accepts to receive if the price moves (exact-in), or exactly
    /// `amount_out` (exact-out).
    pub min_received: Amount,
    /// The most the user accepts to pay if the price moves (exact-out), or exactly
    /// `amount_in` (exact-in).
    pub max_sold: Amount,
    pub quoted_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A request to execute a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteSwap {
    pub quote_id: String,
    /// Chosen by the client per swap; a retry with the same key returns the first result.
    pub idempotency_key: String,
}

/// What became of a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SwapStatus {
    /// Filled at the live price within the quote's bound: both sides moved in one ledger
    /// transaction.
    Completed,
}

/// A filled swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Swap {
    pub reference: Reference,
    pub status: SwapStatus,
    pub quote_id: String,
    pub side: SwapSide,
    pub from: Token,
    pub to: Token,
    /// What the user paid and received (after the fee), filled at the live price.
    pub amount_in: Amount,
    pub amount_out: Amount,
    /// What the quote said, for comparison.
    #[serde(default)]
    pub quoted_amount_in: Amount,
    #[serde(default)]
    pub quoted_amount_out: Amount,
    pub fee: Amount,
    pub fee_bps: u32,
    pub price_impact_bps: u32,
    pub slippage_bps: u32,
    /// Prices the quote was made at.
    pub quoted_price_in: UsdPrice,
    pub quoted_price_out: UsdPrice,
    /// Market prices when the swap was executed.
    pub price_in: UsdPrice,
    pub price_out: UsdPrice,
    /// Unix milliseconds.
    pub created_at_ms: i64,
}

/// One page of a wallet's swaps, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwapPage {
    pub swaps: Vec<Swap>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<Reference>,
}

/// How many units of `to` one `from` buys, for display: `amount_out` over `amount_in` in whole
/// tokens, with about six significant digits. Integer arithmetic only.
pub fn format_rate(amount_in: Amount, from: Token, amount_out: Amount, to: Token) -> String {
    if amount_in.is_zero() {
        return "—".to_owned();
    }
    // rate = out / 10^to_dec / (in / 10^from_dec), scaled by 10^SCALE.
    const SCALE: u32 = 18;
    let numerator = u128::from(amount_out.base_units())
        * 10u128.pow(u32::from(from.decimals()))
        * 10u128.pow(SCALE - u32::from(to.decimals()));
    let scaled = numerator / u128::from(amount_in.base_units());
    let whole = scaled / 10u128.pow(SCALE);
    let fraction = scaled % 10u128.pow(SCALE);
    let whole_digits = if whole == 0 { 0 } else { whole.ilog10() + 1 };
    // Six significant digits: fewer decimals for large rates, more for small ones.
    let decimals = if whole_digits >= 6 {
        0
    } else if whole > 0 {
        6 - whole_digits
    } else {
        let leading_zeros = SCALE - (if fraction == 0 { 0 } else { fraction.ilog10() + 1 });
        (leading_zeros + 6).min(SCALE)
    };
    let shown = fraction / 10u128.pow(SCALE - decimals);
    let mut text = format!("{whole}");
    if decimals > 0 {
        let digits = format!("{shown:0width$}", width = decimals as usize);
        let digits = digits.trim_end_matches('0');
        if !digits.is_empty() {
            text.push('.');
            text.push_str(digits);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str, token: Token) -> Amount {
        Amount::parse(text, token.decimals()).unwrap()
    }

    #[test]
    fn rates_show_about_six_significant_digits() {
        assert_eq!(format_rate(amount("2", Token::Sol), Token::Sol, amount("300", Token::Usdc), Token::Usdc), "150");
        assert_eq!(
            format_rate(amount("1", Token::Sol), Token::Sol, amount("187.123456", Token::Usdc), Token::Usdc),
            "187.123"
        );
        assert_eq!(
            format_rate(amount("187.5", Token::Usdc), Token::Usdc, amount("1", Token::Sol), Token::Sol),
            "0.00533333"
        );
        assert_eq!(
            format_rate(amount("1", Token::Usdc), Token::Usdc, amount("45000.5", Token::Bonk), Token::Bonk),
            "45000.5"
        );
        assert_eq!(format_rate(Amount::ZERO, Token::Sol, amount("1", Token::Usdc), Token::Usdc), "—");
    }
}
