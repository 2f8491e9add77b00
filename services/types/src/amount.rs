//! Money as an unsigned integer of a token's base units (lamports for SOL).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of some token, in that token's base units.
///
/// The value is capped at `i64::MAX` so that it always fits MongoDB's 64-bit integers;
/// arithmetic is checked and returns `None` instead of wrapping or going past that cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Amount(u64);

/// Why a piece of text is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Enter an amount.")]
    Empty,
    #[error("Amounts cannot be negative.")]
    Negative,
    #[error("Enter the amount as a number, like 1.5.")]
    NotANumber,
    #[error("This token has at most {max} decimal places.")]
    TooManyDecimals { max: u8 },
    #[error("That amount is too large.")]
    TooLarge,
}

impl Amount {
    /// Nothing.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount the ledger can hold in one balance.
    pub const MAX: Amount = Amount(i64::MAX as u64);

    /// An amount of `units` base units; `None` above [`Amount::MAX`].
    pub const fn from_base_units(units: u64) -> Option<Amount> {
        if units > i64::MAX as u64 { None } else { Some(Amount(units)) }
    }

    /// The amount in base units.
    pub const fn base_units(self) -> u64 {
        self.0
    }

    /// The amount as MongoDB's 64-bit integer (always fits, see [`Amount::MAX`]).
    pub const fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// `whole` whole tokens of a token with `decimals` decimals.
    pub fn from_whole(whole: u64, decimals: u8) -> Option<Amount> {
        10u64.checked_pow(decimals.into()).and_then(|unit| whole.checked_mul(unit)).and_then(Amount::from_base_units)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).and_then(Amount::from_base_units)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// Parses a decimal number of whole tokens ("1.5") into base units, exactly.
    ///
    /// Accepts surrounding spaces, a leading or trailing dot (".5", "5.") and `_` or `,`
    /// as digit-group separators in the whole part. Refuses signs, exponents and more
    /// fractional digits than the token has, rather than rounding someone's money.
    pub fn parse(input: &str, decimals: u8) -> Result<Amount, AmountError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let whole: String = whole.chars().filter(|c| *c != '_' && *c != ',').collect();
        if whole.is_empty() && fraction.is_empty() {
            return Err(AmountError::NotANumber);
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(&whole) || !all_digits(fraction) {
            return Err(AmountError::NotANumber);
        }
        let significant_fraction = fraction.trim_end_matches('0');
        if significant_fraction.len() > usize::from(decimals) {
            return Err(AmountError::TooManyDecimals { max: decimals });
        }
        let unit = 10u64.checked_pow(decimals.into()).ok_or(AmountError::TooLarge)?;
        let whole_units = if whole.is_empty() {
            0
        } else {
            whole
                .trim_start_matches('0')
                .parse::<u64>()
                .or_else(|_| if whole.bytes().all(|b| b == b'0') { Ok(0) } else { Err(AmountError::TooLarge) })?
        };
        let mut fraction_units = 0u64;
        for (i, digit) in significant_fraction.bytes().enumerate() {
            let place = 10u64.pow(u32::from(decimals) - 1 - i as u32);
            fraction_units += u64::from(digit - b'0') * place;
        }
        whole_units
            .checked_mul(unit)
            .and_then(|units| units.checked_add(fraction_units))
            .and_then(Amount::from_base_units)
            .ok_or(AmountError::TooLarge)
    }

    /// Formats the amount as whole tokens with no trailing zeros ("1.5", "0.000000001", "12").
    ///
    /// `Amount::parse(&a.format(d), d) == Ok(a)` for every amount.
    pub fn format(self, decimals: u8) -> String {
        let unit = 10u64.pow(decimals.into());
        let whole = self.0 / unit;
        let fraction = self.0 % unit;
        if fraction == 0 {
            return whole.to_string();
        }
        let fraction = format!("{fraction:0width$}", width = usize::from(decimals));
        format!("{whole}.{}", fraction.trim_end_matches('0'))
    }

    /// Formats for people: thousands separated by commas and at most `max_fraction`
    /// fractional digits, truncated (never rounded up, so a balance is never overstated).
    pub fn format_display(self, decimals: u8, max_fraction: u8) -> String {
        let exact = self.format(decimals);
        let (whole, fraction) = exact.split_once('.').unwrap_or((&exact, ""));
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let shown = &fraction[..fraction.len().min(usize::from(max_fraction))];
        let shown = shown.trim_end_matches('0');
        if shown.is_empty() { grouped } else { format!("{grouped}.{shown}") }
    }
}

impl TryFrom<u64> for Amount {
    type Error = AmountError;

    fn try_from(units: u64) -> Result<Self, Self::Error> {
        Amount::from_base_units(units).ok_or(AmountError::TooLarge)
    }
}

impl From<Amount> for u64 {
    fn from(amount: Amount) -> u64 {
        amount.0
    }
}

impl fmt::Display for Amount {
    /// Base units; use [`Amount::format`] for whole tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sol(text: &str) -> Result<Amount, AmountError> {
        Amount::parse(text, 9)
    }

    #[test]
    fn parses_whole_and_fractional_sol_into_lamports() {
        assert_eq!(sol("1.5").unwrap().base_units(), 1_500_000_000);
        assert_eq!(sol("0.000000001").unwrap().base_units(), 1);
        assert_eq!(sol("  42 ").unwrap().base_units(), 42_000_000_000);
        assert_eq!(sol(".5").unwrap().base_units(), 500_000_000);
        assert_eq!(sol("5.").unwrap().base_units(), 5_000_000_000);
        assert_eq!(sol("1,000").unwrap().base_units(), 1_000_000_000_000);
        assert_eq!(sol("0").unwrap(), Amount::ZERO);
        assert_eq!(sol("000.100").unwrap().base_units(), 100_000_000);
    }

    #[test]
    fn trailing_zeros_beyond_the_decimals_are_not_extra_precision() {
        assert_eq!(Amount::parse("1.500000", 2).unwrap().base_units(), 150);
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(sol(""), Err(AmountError::Empty));
        assert_eq!(sol("   "), Err(AmountError::Empty));
        assert_eq!(sol("-1"), Err(AmountError::Negative));
        assert_eq!(sol("abc"), Err(AmountError::NotANumber));
        assert_eq!(sol("1e9"), Err(AmountError::NotANumber));
        assert_eq!(sol("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(sol("."), Err(AmountError::NotANumber));
        assert_eq!(sol("+1"), Err(AmountError::NotANumber));
        assert_eq!(sol("0.0000000001"), Err(AmountError::TooManyDecimals { max: 9 }));
        assert_eq!(Amount::parse("1.001", 2), Err(AmountError::TooManyDecimals { max: 2 }));
    }

    #[test]
    fn refuses_amounts_the_ledger_cannot_hold() {
        assert_eq!(sol("9223372037"), Err(AmountError::TooLarge));
        assert_eq!(sol("99999999999999999999999"), Err(AmountError::TooLarge));
        assert!(sol("9223372036.854775807").is_ok());
        assert_eq!(sol("9223372036.854775808"), Err(AmountError::TooLarge));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        let a = |units| Amount::from_base_units(units).unwrap();
        assert_eq!(a(1_500_000_000).format(9), "1.5");
        assert_eq!(a(1).format(9), "0.000000001");
        assert_eq!(a(12_000_000_000).format(9), "12");
        assert_eq!(a(0).format(6), "0");
        assert_eq!(a(123).format(0), "123");
    }

    #[test]
    fn display_format_groups_thousands_and_truncates() {
        let a = |units| Amount::from_base_units(units).unwrap();
        assert_eq!(a(1_234_567_890_000_000).format_display(9, 4), "1,234,567.89");
        assert_eq!(a(999_999_999).format_display(9, 4), "0.9999");
        assert_eq!(a(100_000_000_000).format_display(9, 2), "100");
        assert_eq!(a(0).format_display(9, 2), "0");
    }

    #[test]
    fn format_then_parse_gives_back_the_same_amount() {
        let samples = [0u64, 1, 9, 10, 999_999_999, 1_000_000_000, 1_000_000_001, 123_456_789_012_345, i64::MAX as u64];
        for decimals in [0u8, 2, 5, 6, 9] {
            for units in samples {
                let amount = Amount::from_base_units(units).unwrap();
                assert_eq!(
                    Amount::parse(&amount.format(decimals), decimals),
                    Ok(amount),
                    "{units} with {decimals} decimals"
                );
            }
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        let one = Amount::from_base_units(1).unwrap();
        assert_eq!(Amount::ZERO.checked_sub(one), None);
        assert_eq!(Amount::MAX.checked_add(one), None);
        assert_eq!(one.checked_add(one).unwrap().base_units(), 2);
        assert_eq!(Amount::from_base_units(u64::MAX), None);
        assert_eq!(Amount::from_whole(1000, 9).unwrap().base_units(), 1_000_000_000_000);
    }
}
