//! Ledger accounts: users' wallets and the platform's own system accounts.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use solstice_types::WalletAddress;

/// Most shards a split system account may have (shard 0 is the account itself).
pub const MAX_SHARDS: u8 = 64;

/// An account that can hold balances.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AccountId {
    Wallet(WalletAddress),
    System(SystemAccount),
    /// Shard `n` (1 to [`MAX_SHARDS`] − 1) of a system account split so that concurrent
    /// transactions do not all write one document (the treasury and the fee account, which
    /// every swap touches). Shard 0 is the account itself, `System(account)`.
    Shard(SystemAccount, u8),
}

/// The platform's own accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemAccount {
    /// The other side of every token's supply: its balance is minus the tokens in existence,
    /// the only balance allowed below zero.
    Issuance,
    /// Pays the sign-up airdrops.
    Faucet,
    /// The exchange's inventory: the other side of every swap.
    Treasury,
    /// Collects exchange fees.
    Fees,
    /// Holds staked SOL.
    StakePool,
    /// Pays staking rewards.
    StakeRewards,
}

impl SystemAccount {
    pub const ALL: [SystemAccount; 6] = [
        SystemAccount::Issuance,
        SystemAccount::Faucet,
        SystemAccount::Treasury,
        SystemAccount::Fees,
        SystemAccount::StakePool,
        SystemAccount::StakeRewards,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SystemAccount::Issuance => "issuance",
            SystemAccount::Faucet => "faucet",
            SystemAccount::Treasury => "treasury",
            SystemAccount::Fees => "fees",
            SystemAccount::StakePool => "stake-pool",
            SystemAccount::StakeRewards => "stake-rewards",
        }
    }

    /// Whether the account may be split into shards (see [`AccountId::Shard`]).
    pub const fn is_sharded(self) -> bool {
        matches!(self, SystemAccount::Treasury | SystemAccount::Fees)
    }
}

impl AccountId {
    pub fn wallet(address: &WalletAddress) -> AccountId {
        AccountId::Wallet(address.clone())
    }

    /// Shard `shard` of a split system account: the account itself for shard 0.
    ///
    /// # Panics
    /// When the account is not split or the shard is [`MAX_SHARDS`] or more: a programming error.
    pub fn shard(account: SystemAccount, shard: u8) -> AccountId {
        assert!(account.is_sharded() && shard < MAX_SHARDS, "{} has no shard {shard}", account.name());
        if shard == 0 { AccountId::System(account) } else { AccountId::Shard(account, shard) }
    }

    /// The system account this is, or is a shard of, with the shard's number (0 for the
    /// account itself); `None` for a wallet.
    pub fn system(&self) -> Option<(SystemAccount, u8)> {
        match self {
            AccountId::Wallet(_) => None,
            AccountId::System(account) => Some((*account, 0)),
            AccountId::Shard(account, shard) => Some((*account, *shard)),
        }
    }

    /// Whether this account's balances may go below zero (only issuance may).
    pub fn may_go_negative(&self) -> bool {
        matches!(self, AccountId::System(SystemAccount::Issuance))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountId::Wallet(address) => write!(f, "wallet:{address}"),
            AccountId::System(system) => write!(f, "system:{}", system.name()),
            AccountId::Shard(system, shard) => write!(f, "system:{}-{shard}", system.name()),
        }
    }
}

/// Text that names no account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a ledger account: {0}")]
pub struct InvalidAccount(String);

impl FromStr for AccountId {
    type Err = InvalidAccount;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidAccount(text.to_owned());
        match text.split_once(':') {
            Some(("wallet", address)) => WalletAddress::parse(address).map(AccountId::Wallet).map_err(|_| invalid()),
            Some(("system", name)) => {
                let named = |name: &str| SystemAccount::ALL.into_iter().find(|account| account.name() == name);
                if let Some(account) = named(name) {
                    return Ok(AccountId::System(account));
                }
                // A shard: `treasury-3`. Its number is written one way only (no `-03`, no `-0`).
                let (name, shard) = name.rsplit_once('-').ok_or_else(invalid)?;
                let account = named(name).filter(|account| account.is_sharded()).ok_or_else(invalid)?;
                match shard.parse::<u8>() {
                    Ok(n) if (1..MAX_SHARDS).contains(&n) && shard == n.to_string() => Ok(AccountId::Shard(account, n)),
                    _ => Err(invalid()),
                }
            }
            _ => Err(invalid()),
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccount;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<AccountId> for String {
    fn from(account: AccountId) -> String {
        account.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_through_their_names() {
        let wallet = AccountId::wallet(&WalletAddress::from_public_key(&[1; 32]));
        for account in SystemAccount::ALL.map(AccountId::System).into_iter().chain([wallet]) {
            assert_eq!(account.to_string().parse::<AccountId>(), Ok(account.clone()));
        }
        assert!("system:nobody".parse::<AccountId>().is_err());
        assert!("wallet:abc".parse::<AccountId>().is_err());
    }

    #[test]
    fn the_treasury_and_the_fee_account_have_shards_and_nothing_else_does() {
        for account in [SystemAccount::Treasury, SystemAccount::Fees] {
            assert_eq!(AccountId::shard(account, 0), AccountId::System(account));
            for shard in [1, 7, MAX_SHARDS - 1] {
                let id = AccountId::shard(account, shard);
                assert_eq!(id.to_string(), format!("system:{}-{shard}", account.name()));
                assert_eq!(id.to_string().parse::<AccountId>(), Ok(id.clone()));
                assert_eq!(id.system(), Some((account, shard)));
                assert!(!id.may_go_negative());
            }
        }
        for text in [
            "system:treasury-0",
            "system:treasury-03",
            "system:treasury-64",
            "system:treasury-",
            "system:treasury-x",
            "system:faucet-1",
            "system:issuance-1",
            "system:stake-pool-1",
        ] {
            assert!(text.parse::<AccountId>().is_err(), "{text} names no account");
        }
        assert_eq!("system:stake-pool".parse(), Ok(AccountId::System(SystemAccount::StakePool)));
    }

    #[test]
    fn only_issuance_may_go_negative() {
        let negatives: Vec<_> =
            SystemAccount::ALL.into_iter().filter(|a| AccountId::System(*a).may_go_negative()).collect();
        assert_eq!(negatives, [SystemAccount::Issuance]);
    }
}
