//! How stake accounts are stored, and reading them.

use futures::TryStreamExt;
use mongodb::{
    Collection,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};
use solstice_types::{
    Amount, Reference, WalletAddress,
    stake::{StakeAccount, StakeState, Validator},
};

use crate::{error::StakeError, validators::validator};

/// Collection of [`StakeDoc`].
pub const STAKE_ACCOUNTS: &str = "stake_accounts";

/// A stake account as stored. The portfolio service reads it too (never writes it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StakeDoc {
    #[serde(rename = "_id")]
    pub address: String,
    pub wallet: String,
    pub validator: String,
    pub principal: i64,
    /// Principal plus rewards paid so far, in lamports: what the stake pool holds for it.
    pub amount: i64,
    pub rewards: i64,
    pub activation_epoch: i64,
    pub deactivation_epoch: Option<i64>,
    /// Every epoch up to this one has been rewarded (or had nothing to reward).
    pub last_rewarded_epoch: i64,
    pub withdrawn: bool,
    /// Rewards a withdrawn account earned that the rewards pool could not pay when it was
    /// withdrawn, in lamports: paid to the wallet, epoch by epoch, as soon as the pool can.
    #[serde(default)]
    pub rewards_owed: i64,
    pub created_at: DateTime,
    pub reference: Option<String>,
    /// The idempotency key of the unstake that deactivated it, when the caller sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstake_key: Option<String>,
    /// The reference number of the unstake, and when it was made (absent before unstakes had
    /// them, and on accounts still staked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstake_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstaked_at: Option<DateTime>,
}

impl StakeDoc {
    pub fn state(&self, epoch: i64) -> StakeState {
        match self.deactivation_epoch {
            _ if self.withdrawn => StakeState::Withdrawn,
            Some(deactivation) if epoch >= deactivation => StakeState::Inactive,
            Some(_) => StakeState::Deactivating,
            None if epoch < self.activation_epoch => StakeState::Activating,
            None => StakeState::Active,
        }
    }

    /// Whether the stake earned during `epoch`.
    pub fn earns_in(&self, epoch: i64) -> bool {
        epoch >= self.activation_epoch && self.deactivation_epoch.is_none_or(|deactivation| epoch < deactivation)
    }
}

/// Lamports as stored (never negative: the ledger's balances back them).
pub fn lamports(units: i64) -> Amount {
    u64::try_from(units).ok().and_then(Amount::from_base_units).unwrap_or(Amount::ZERO)
}

/// What the wallet's stake accounts not yet withdrawn hold: (amount with rewards, rewards). For
/// the portfolio service, which reads only these two fields of each account.
pub async fn staked_by(
    accounts: &Collection<StakeDoc>,
    wallet: &WalletAddress,
) -> mongodb::error::Result<(Amount, Amount)> {
    #[derive(Deserialize)]
    struct Held {
        #[serde(default)]
        amount: i64,
        #[serde(default)]
        rewards: i64,
    }
    let held = accounts.clone_with_type::<Held>();
    let mut cursor = held
        .find(doc! { "wallet": wallet.as_str(), "withdrawn": false })
        .projection(doc! { "amount": 1, "rewards": 1 })
        .await?;
    let (mut amount, mut rewards) = (Amount::ZERO, Amount::ZERO);
    while let Some(account) = cursor.try_next().await? {
        amount = amount.checked_add(lamports(account.amount)).unwrap_or(amount);
        rewards = rewards.checked_add(lamports(account.rewards)).unwrap_or(rewards);
    }
    Ok((amount, rewards))
}

/// A stake account as the API shows it, in `epoch`.
pub(crate) fn view(doc: &StakeDoc, epoch: i64) -> StakeAccount {
    StakeAccount {
        address: doc.address.clone(),
        validator: validator(&doc.validator).unwrap_or_else(|| Validator {
            id: doc.validator.clone(),
            name: doc.validator.clone(),
            commission_bps: 0,
            apy_bps: 0,
        }),
        state: doc.state(epoch),
        principal: lamports(doc.principal),
        rewards: lamports(doc.rewards),
        amount: lamports(doc.amount),
        rewards_owed: lamports(doc.rewards_owed),
        activation_epoch: doc.activation_epoch,
        deactivation_epoch: doc.deactivation_epoch,
        created_at_ms: doc.created_at.timestamp_millis(),
        reference: doc.reference.as_deref().and_then(|r| Reference::parse(r).ok()),
    }
}

/// The wallet's stake accounts, newest first (the latest 200).
pub(crate) async fn own_accounts(
    accounts: &Collection<StakeDoc>,
    wallet: &WalletAddress,
) -> mongodb::error::Result<Vec<StakeDoc>> {
    accounts
        .find(doc! { "wallet": wallet.as_str() })
        .sort(doc! { "created_at": -1 })
        .limit(200)
        .await?
        .try_collect()
        .await
}

/// One of the wallet's stake accounts.
pub(crate) async fn find_own(
    accounts: &Collection<StakeDoc>,
    wallet: &WalletAddress,
    address: &str,
) -> Result<StakeDoc, StakeError> {
    accounts.find_one(doc! { "_id": address, "wallet": wallet.as_str() }).await?.ok_or(StakeError::NotFound)
}
