//! Ledger accounts: users' wallets and the platform's own system accounts.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use solstice_types::WalletAddress;

/// An account that can hold balances.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AccountId {
    Wallet(WalletAddress),
    System(SystemAccount),
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
}

impl AccountId {
    pub fn wallet(address: &WalletAddress) -> AccountId {
        AccountId::Wallet(address.clone())
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
            Some(("system", name)) => SystemAccount::ALL
                .into_iter()
                .find(|account| account.name() == name)
                .map(AccountId::System)
                .ok_or_else(invalid),
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
    fn only_issuance_may_go_negative() {
        let negatives: Vec<_> =
            SystemAccount::ALL.into_iter().filter(|a| AccountId::System(*a).may_go_negative()).collect();
        assert_eq!(negatives, [SystemAccount::Issuance]);
    }
}
