//! Parsing request fields into domain types, with the error a person sees when one is wrong.
//! Shared so that every service words the same mistake the same way.

use solstice_types::{Amount, AmountError, ApiError, ErrorCode, Reference, Token};

/// A token symbol from the registry, in any case.
pub fn token(text: &str) -> Result<Token, ApiError> {
    text.parse()
        .map_err(|error: solstice_types::UnknownToken| ApiError::new(ErrorCode::UnknownToken, error.to_string()))
}

/// A decimal amount of `token`, greater than zero.
pub fn positive_amount(text: &str, token: Token) -> Result<Amount, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::InvalidAmount, message);
    let amount = Amount::parse(text, token.decimals()).map_err(|error| match error {
        AmountError::TooManyDecimals { max } => invalid(format!("{token} has at most {max} decimal places.")),
        other => invalid(other.to_string()),
    })?;
    if amount.is_zero() {
        return Err(invalid("Enter an amount greater than zero.".to_owned()));
    }
    Ok(amount)
}

/// A client's idempotency key: 8 to 100 letters, digits, `-` or `_` (a UUID fits).
pub fn idempotency_key(text: &str) -> Result<&str, ApiError> {
    let plain = text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !(8..=100).contains(&text.len()) || !plain {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "The idempotency key must be 8 to 100 letters, digits, '-' or '_'.",
        ));
    }
    Ok(text)
}

/// An activity kind by its name ("received", "swap"...), in any case.
pub fn activity_kind(text: &str) -> Result<solstice_types::activity::ActivityKind, ApiError> {
    use solstice_types::activity::ActivityKind;
    ActivityKind::parse(text).ok_or_else(|| {
        let kinds: Vec<&str> = ActivityKind::ALL.iter().map(|kind| kind.as_str()).collect();
        ApiError::new(ErrorCode::InvalidInput, format!("The kind must be one of: {}.", kinds.join(", ")))
    })
}

/// A reference number as a person typed it (any case, spaces around).
pub fn reference(text: &str) -> Result<Reference, ApiError> {
    Reference::parse(text.trim()).map_err(|error| ApiError::new(ErrorCode::InvalidInput, error.to_string()))
}

/// A stake account's address as given (base58, like a wallet's): one that cannot be an address
/// is no stake account of the caller's.
pub fn stake_account(text: &str) -> Result<solstice_types::WalletAddress, ApiError> {
    solstice_types::WalletAddress::parse(text.trim())
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "You have no stake account with this address."))
}

/// Items per history page: `DEFAULT_PAGE` when not asked, else 1 to 100.
pub fn page_limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked.unwrap_or(DEFAULT_PAGE) {
        limit @ 1..=100 => Ok(limit),
        _ => Err(ApiError::new(ErrorCode::InvalidInput, "Ask for 1 to 100 items per page.")),
    }
}

/// Items per history page unless asked otherwise.
pub const DEFAULT_PAGE: u32 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_get_a_sentence_that_names_the_token() {
        assert_eq!(
            positive_amount("1.0000000001", Token::Sol).unwrap_err().message,
            "SOL has at most 9 decimal places."
        );
        assert_eq!(positive_amount("0", Token::Usdc).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(positive_amount("abc", Token::Usdc).unwrap_err().code, ErrorCode::InvalidAmount);
        assert_eq!(positive_amount("1.5", Token::Usdc).unwrap().base_units(), 1_500_000);
        assert_eq!(token("doge").unwrap_err().code, ErrorCode::UnknownToken);
        assert_eq!(token("usdc").unwrap(), Token::Usdc);
    }

    #[test]
    fn references_and_page_sizes_are_checked() {
        assert_eq!(reference(" trf-01jdx3q7zk-8m2xqf ").unwrap().as_str(), "TRF-01JDX3Q7ZK-8M2XQF");
        assert_eq!(reference("nonsense").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(page_limit(None), Ok(DEFAULT_PAGE));
        assert_eq!(page_limit(Some(100)), Ok(100));
        assert!(page_limit(Some(0)).is_err() && page_limit(Some(101)).is_err());
    }

    #[test]
    fn idempotency_keys_are_plain_and_bounded() {
        assert!(idempotency_key("3f2a9c1e-7d4b-4e0a-9a51-0c2d6b7e8f90").is_ok());
        assert!(idempotency_key("short").is_err());
        assert!(idempotency_key("has spaces in it").is_err());
        assert!(idempotency_key(&"k".repeat(101)).is_err());
    }
}
