//! Prices and values in US dollars, as integers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Amount;

/// The price of one whole token, in picodollars (10^-12 USD).
///
/// Picodollars keep five significant digits even for tokens worth a hundred-thousandth of a
/// dollar (BONK), while a price of a million dollars still fits easily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct UsdPrice(u64);

/// An amount of US dollars, in picodollars: what a holding is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct UsdValue(u128);

const PICOS_PER_DOLLAR: u64 = 1_000_000_000_000;

impl UsdPrice {
    pub const fn from_picodollars(picodollars: u64) -> UsdPrice {
        UsdPrice(picodollars)
    }

    pub const fn picodollars(self) -> u64 {
        self.0
    }

    /// What `amount` (in base units of a token with `decimals`) is worth at this price.
    pub fn value_of(self, amount: Amount, decimals: u8) -> UsdValue {
        let units = u128::from(amount.base_units());
        UsdValue(units * u128::from(self.0) / 10u128.pow(decimals.into()))
    }

    /// Relative change from `earlier` to this price, in basis points (1/100 of a percent).
    pub fn change_bps_since(self, earlier: UsdPrice) -> i64 {
        if earlier.0 == 0 {
            return 0;
        }
        let delta = i128::from(self.0) - i128::from(earlier.0);
        (delta * 10_000 / i128::from(earlier.0)) as i64
    }

    /// For people: "$151.23", "$0.5123", "$0.00002134" (four significant digits below a dollar).
    pub fn format(self) -> String {
        if self.0 >= PICOS_PER_DOLLAR {
            return format_dollars(u128::from(self.0), 2);
        }
        // Enough fractional digits for four significant ones, at most twelve.
        let mut digits = 4u32;
        let mut threshold = PICOS_PER_DOLLAR / 10;
        while self.0 < threshold && digits < 12 {
            digits += 1;
            threshold /= 10;
        }
        format_dollars(u128::from(self.0), digits)
    }
}

impl UsdValue {
    pub const ZERO: UsdValue = UsdValue(0);

    pub const fn from_picodollars(picodollars: u128) -> UsdValue {
        UsdValue(picodollars)
    }

    pub const fn picodollars(self) -> u128 {
        self.0
    }

    pub fn checked_add(self, other: UsdValue) -> Option<UsdValue> {
        self.0.checked_add(other.0).map(UsdValue)
    }

    /// This value's share of `total`, in basis points (0 when the total is zero).
    pub fn share_bps_of(self, total: UsdValue) -> u32 {
        (self.0 * 10_000).checked_div(total.0).map_or(0, |bps| bps as u32)
    }

    /// For people, in dollars and cents, truncated: "$1,234.56".
    pub fn format(self) -> String {
        format_dollars(self.0, 2)
    }
}

/// Formats picodollars as dollars with `fraction_digits` digits, truncated, thousands grouped.
fn format_dollars(picos: u128, fraction_digits: u32) -> String {
    let whole = picos / u128::from(PICOS_PER_DOLLAR);
    let fraction = picos % u128::from(PICOS_PER_DOLLAR) / 10u128.pow(12 - fraction_digits.min(12));
    let whole = whole.to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + fraction_digits as usize + 2);
    grouped.push('$');
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if fraction_digits > 0 {
        grouped.push('.');
        grouped.push_str(&format!("{fraction:0width$}", width = fraction_digits as usize));
    }
    grouped
}

/// Basis points as a signed percentage: "+1.25%", "-0.40%", "0.00%".
/// Basis points as a percentage for people: 50 → "0.5%", 3 → "0.03%", 100 → "1%".
pub fn format_bps(bps: u32) -> String {
    let text = format!("{}.{:02}", bps / 100, bps % 100);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

pub fn format_change_bps(bps: i64) -> String {
    let sign = match bps.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    let abs = bps.unsigned_abs();
    format!("{sign}{}.{:02}%", abs / 100, abs % 100)
}

impl fmt::Display for UsdPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollars(d: f64) -> UsdPrice {
        UsdPrice::from_picodollars((d * 1e12).round() as u64)
    }

    #[test]
    fn prices_show_cents_above_a_dollar_and_four_significant_digits_below() {
        assert_eq!(dollars(151.2345).format(), "$151.23");
        assert_eq!(dollars(1_234.5).format(), "$1,234.50");
        assert_eq!(dollars(0.51234).format(), "$0.5123");
        assert_eq!(dollars(0.000021345).format(), "$0.00002134");
        assert_eq!(dollars(1.0).format(), "$1.00");
        assert_eq!(UsdPrice::from_picodollars(0).format(), "$0.000000000000");
    }

    #[test]
    fn a_holding_is_worth_amount_times_price_in_integers() {
        let sol = Amount::parse("2.5", 9).unwrap();
        assert_eq!(dollars(150.0).value_of(sol, 9).format(), "$375.00");
        let bonk = Amount::parse("1000000", 5).unwrap();
        assert_eq!(dollars(0.00002).value_of(bonk, 5).format(), "$20.00");
        assert_eq!(dollars(150.0).value_of(Amount::ZERO, 9), UsdValue::ZERO);
    }

    #[test]
    fn changes_and_shares_are_in_basis_points() {
        assert_eq!(dollars(101.0).change_bps_since(dollars(100.0)), 100);
        assert_eq!(dollars(99.5).change_bps_since(dollars(100.0)), -50);
        assert_eq!(format_change_bps(125), "+1.25%");
        assert_eq!(format_change_bps(-40), "-0.40%");
        assert_eq!(format_change_bps(0), "0.00%");
        let part = dollars(25.0).value_of(Amount::parse("1", 0).unwrap(), 0);
        let total = dollars(100.0).value_of(Amount::parse("1", 0).unwrap(), 0);
        assert_eq!(part.share_bps_of(total), 2_500);
        assert_eq!(part.share_bps_of(UsdValue::ZERO), 0);
    }

    #[test]
    fn tolerances_and_fees_read_as_percentages_without_useless_zeros() {
        assert_eq!(format_bps(50), "0.5%");
        assert_eq!(format_bps(3), "0.03%");
        assert_eq!(format_bps(100), "1%");
        assert_eq!(format_bps(500), "5%");
    }
}
