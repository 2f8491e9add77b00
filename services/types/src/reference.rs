//! Reference numbers: what a person quotes to find a swap, transfer or stake action.
//!
//! A reference is `PREFIX-TTTTTTTTTT-RRRRRR`: a kind prefix, the creation time in
//! milliseconds as 10 Crockford base32 digits (so references sort by time as text) and
//! 6 random Crockford base32 digits. The alphabet has no I, L, O or U, so references
//! read aloud or typed from a receipt are hard to get wrong.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What a reference number refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReferenceKind {
    Swap,
    Transfer,
    Stake,
    /// The sign-up credit from the faucet.
    Airdrop,
    /// Issuance of a token's supply into the system accounts.
    Genesis,
    /// Inventory moved between shards of the exchange's treasury, which no wallet takes part in.
    Rebalance,
}

impl ReferenceKind {
    pub const ALL: [ReferenceKind; 6] = [
        ReferenceKind::Swap,
        ReferenceKind::Transfer,
        ReferenceKind::Stake,
        ReferenceKind::Airdrop,
        ReferenceKind::Genesis,
        ReferenceKind::Rebalance,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            ReferenceKind::Swap => "SWP",
            ReferenceKind::Transfer => "TRF",
            ReferenceKind::Stake => "STK",
            ReferenceKind::Airdrop => "AIR",
            ReferenceKind::Genesis => "GEN",
            ReferenceKind::Rebalance => "RBL",
        }
    }
}

/// A well-formed reference number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

/// The text is not a reference number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("That is not a reference number (they look like TRF-01JDX3Q7ZK-8M2XQF).")]
pub struct InvalidReference;

impl Reference {
    /// Builds the reference of something created at `unix_millis`, with 30 bits of `random`.
    pub fn new(kind: ReferenceKind, unix_millis: u64, random: u32) -> Reference {
        let mut text = String::with_capacity(21);
        text.push_str(kind.prefix());
        text.push('-');
        push_base32(&mut text, unix_millis, 10);
        text.push('-');
        push_base32(&mut text, u64::from(random), 6);
        Reference(text)
    }

    /// Parses a reference typed by a person: case and surrounding spaces do not matter.
    pub fn parse(text: &str) -> Result<Reference, InvalidReference> {
        let text = text.trim().to_ascii_uppercase();
        let mut parts = text.split('-');
        let (Some(prefix), Some(time), Some(random), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidReference);
        };
        let known = ReferenceKind::ALL.iter().any(|kind| kind.prefix() == prefix);
        let base32 = |s: &str, len| s.len() == len && s.bytes().all(|b| ALPHABET.contains(&b));
        if known && base32(time, 10) && base32(random, 6) { Ok(Reference(text)) } else { Err(InvalidReference) }
    }

    pub fn kind(&self) -> ReferenceKind {
        let prefix = &self.0[..3];
        *ReferenceKind::ALL.iter().find(|kind| kind.prefix() == prefix).expect("parsed references have a known prefix")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When what it refers to was created, in Unix milliseconds (the reference's time digits).
    pub fn unix_millis(&self) -> u64 {
        self.0[4..14].bytes().fold(0, |value, digit| {
            let position = ALPHABET.iter().position(|&b| b == digit).expect("parsed references are base32");
            value * 32 + position as u64
        })
    }
}

fn push_base32(text: &mut String, mut value: u64, digits: usize) {
    let mut buf = vec![b'0'; digits];
    for slot in buf.iter_mut().rev() {
        *slot = ALPHABET[(value % 32) as usize];
        value /= 32;
    }
    text.push_str(std::str::from_utf8(&buf).expect("alphabet is ASCII"));
}

impl FromStr for Reference {
    type Err = InvalidReference;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Reference::parse(text)
    }
}

impl TryFrom<String> for Reference {
    type Error = InvalidReference;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Reference::parse(&text)
    }
}

impl From<Reference> for String {
    fn from(reference: Reference) -> String {
        reference.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_sort_by_creation_time() {
        let earlier = Reference::new(ReferenceKind::Transfer, 1_795_000_000_000, u32::MAX >> 2);
        let later = Reference::new(ReferenceKind::Transfer, 1_795_000_000_001, 0);
        assert!(earlier < later);
        assert_eq!(earlier.as_str().len(), 21);
    }

    #[test]
    fn a_reference_parses_back_whatever_the_case() {
        let reference = Reference::new(ReferenceKind::Swap, 1_795_000_000_000, 12345);
        assert_eq!(Reference::parse(&reference.as_str().to_lowercase()), Ok(reference.clone()));
        assert_eq!(reference.kind(), ReferenceKind::Swap);
        assert!(reference.as_str().starts_with("SWP-"));
        assert_eq!(reference.unix_millis(), 1_795_000_000_000);
    }

    #[test]
    fn refuses_text_that_is_not_a_reference() {
        for bad in [
            "",
            "TRF",
            "XYZ-01JDX3Q7ZK-8M2XQF",
            "TRF-01JDX3Q7ZK-8M2XQ",
            "TRF-01JDX3Q7ZU-8M2XQF",
            "TRF-01JDX3Q7ZK-8M2XQF-1",
        ] {
            assert_eq!(Reference::parse(bad), Err(InvalidReference), "{bad}");
        }
    }
}
