//! Personal API keys: what a key may do, and how the app lists them. A key acts for the wallet
//! that made it, within its scopes, until it expires or is revoked.

use serde::{Deserialize, Serialize};

/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Most keys a wallet may hold at once.
pub const MAX_KEYS_PER_WALLET: usize = 20;
/// Longest expiry that may be chosen, in days (a key may also never expire).
pub const MAX_EXPIRY_DAYS: u32 = 365;
/// Expiries offered as choices, in days (`None`: never).
pub const EXPIRY_CHOICES_DAYS: [Option<u32>; 4] = [Some(30), Some(90), Some(365), None];

/// What a key may do. Every key may read; the others each allow one kind of money movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Prices, balances, portfolio, histories, activity, stake accounts.
    Read,
    /// Quotes and swaps.
    Trade,
    /// Transfers to other wallets.
    Transfer,
    /// Staking, unstaking and withdrawing stake.
    Stake,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Trade, Scope::Transfer, Scope::Stake];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Trade => "trade",
            Scope::Transfer => "transfer",
            Scope::Stake => "stake",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// What the scope allows, as the key list and the create form say it.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "Read: prices, balances, portfolio and history",
            Scope::Trade => "Trade: quotes and swaps",
            Scope::Transfer => "Transfer: send tokens to other wallets",
            Scope::Stake => "Stake: stake, unstake and withdraw",
        }
    }
}

/// A key as its owner's list shows it: never the secret, which is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// The key's public identifier, also the start of the key itself.
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// Unix milliseconds; `None` when the key never expires.
    pub expires_at_ms: Option<i64>,
    /// Unix milliseconds, to the minute; `None` when the key was never used.
    pub last_used_at_ms: Option<i64>,
}

impl ApiKeyInfo {
    /// How the key begins, to tell keys apart in a list: `sol_<id>_…`.
    pub fn shown_prefix(&self) -> String {
        format!("{KEY_PREFIX}{}_…", self.id)
    }
}

/// A key just made: its details and the key itself, which is not stored and cannot be shown
/// again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key: ApiKeyInfo,
    pub secret: String,
}

/// What every key starts with, so that one pasted in the wrong place is recognised (and
/// secret scanners can find a leaked one).
pub const KEY_PREFIX: &str = "sol_";

/// A key's name as typed: trimmed, 1 to [`MAX_NAME_CHARS`] visible characters on one line.
pub fn parse_name(text: &str) -> Result<String, &'static str> {
    let name = text.trim();
    if name.is_empty() {
        return Err("Give the key a name, such as where it will be used.");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("Keep the key's name to 60 characters.");
    }
    if name.chars().any(char::is_control) {
        return Err("The key's name cannot contain line breaks or control characters.");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("admin"), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  tax export ").unwrap(), "tax export");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(61)).is_err());
        assert!(parse_name(&"x".repeat(60)).is_ok());
        assert!(parse_name("two\nlines").is_err());
    }
}
