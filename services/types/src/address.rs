//! Solana-style wallet addresses: the base58 text of a 32-byte ed25519 public key.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A syntactically valid wallet address. Whether a user owns it is the host's business.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WalletAddress(String);

/// Why a piece of text is not a wallet address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("Enter a wallet address.")]
    Empty,
    #[error("A wallet address uses only base58 letters and digits (no 0, O, I or l).")]
    NotBase58,
    #[error("That is not a wallet address: it should decode to 32 bytes.")]
    WrongLength,
}

impl WalletAddress {
    /// The address of a 32-byte public key.
    pub fn from_public_key(key: &[u8; 32]) -> WalletAddress {
        WalletAddress(bs58::encode(key).into_string())
    }

    /// Parses an address typed or pasted by a person (surrounding spaces are ignored).
    pub fn parse(text: &str) -> Result<WalletAddress, AddressError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let bytes = bs58::decode(text).into_vec().map_err(|_| AddressError::NotBase58)?;
        if bytes.len() != 32 {
            return Err(AddressError::WrongLength);
        }
        Ok(WalletAddress(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first and last four characters ("7xKX…gAsU"), for tight spaces.
    pub fn short(&self) -> String {
        let s = &self.0;
        if s.len() <= 10 { s.clone() } else { format!("{}…{}", &s[..4], &s[s.len() - 4..]) }
    }
}

impl FromStr for WalletAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WalletAddress::parse(text)
    }
}

impl TryFrom<String> for WalletAddress {
    type Error = AddressError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        WalletAddress::parse(&text)
    }
}

impl From<WalletAddress> for String {
    fn from(address: WalletAddress) -> String {
        address.0
    }
}

impl fmt::Display for WalletAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_round_trips_through_its_address() {
        let key = [7u8; 32];
        let address = WalletAddress::from_public_key(&key);
        assert!((32..=44).contains(&address.as_str().len()));
        assert_eq!(WalletAddress::parse(address.as_str()), Ok(address.clone()));
        assert_eq!(bs58::decode(address.as_str()).into_vec().unwrap(), key);
    }

    #[test]
    fn refuses_text_that_is_not_an_address() {
        assert_eq!(WalletAddress::parse(" "), Err(AddressError::Empty));
        assert_eq!(WalletAddress::parse("0OIl"), Err(AddressError::NotBase58));
        assert_eq!(WalletAddress::parse("abc"), Err(AddressError::WrongLength));
    }

    #[test]
    fn short_form_keeps_both_ends() {
        let address = WalletAddress::parse("So11111111111111111111111111111111111111112").unwrap();
        assert_eq!(address.short(), "So11…1112");
    }
}
