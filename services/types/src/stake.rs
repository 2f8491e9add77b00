//! The stake service's API types.

use serde::{Deserialize, Serialize};

use crate::{Amount, Reference};

/// The smallest amount that can be staked.
pub const MIN_STAKE_LAMPORTS: u64 = 10_000_000;

/// A validator SOL can be delegated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Validator {
    pub id: String,
    pub name: String,
    /// The validator's cut of the rewards, in basis points.
    pub commission_bps: u32,
    /// Estimated yearly yield before commission, in basis points.
    pub apy_bps: u32,
}

impl Validator {
    /// The yearly yield a staker receives, after commission, in basis points.
    pub fn net_apy_bps(&self) -> u32 {
        self.apy_bps * (10_000 - self.commission_bps.min(10_000)) / 10_000
    }
}

/// Where the epoch clock stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochInfo {
    pub epoch: i64,
    pub started_at_ms: i64,
    pub ends_at_ms: i64,
    pub length_ms: i64,
    /// The service's clock when answering.
    pub now_ms: i64,
}

/// Where a stake account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StakeState {
    /// Delegated; starts earning when the current epoch ends.
    Activating,
    /// Earning a reward every epoch.
    Active,
    /// Unstaked; becomes withdrawable when the current epoch ends.
    Deactivating,
    /// Can be withdrawn.
    Inactive,
    /// Paid back to the wallet.
    Withdrawn,
}

/// A stake account, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakeAccount {
    /// The stake account's address (base58, like a Solana stake account).
    pub address: String,
    pub validator: Validator,
    pub state: StakeState,
    /// What was staked, in lamports.
    pub principal: Amount,
    /// Rewards earned so far (compounded into `amount`).
    pub rewards: Amount,
    /// Principal plus rewards: what a withdrawal pays back.
    pub amount: Amount,
    /// Rewards earned but not paid yet because the rewards pool could not pay them when the
    /// account was withdrawn: they are paid to the wallet as soon as it can (and then counted
    /// in `rewards` and `amount`).
    #[serde(default)]
    pub rewards_owed: Amount,
    /// The first epoch in which the stake earns.
    pub activation_epoch: i64,
    /// The epoch from which it no longer earns, once unstaked.
    pub deactivation_epoch: Option<i64>,
    pub created_at_ms: i64,
    /// The reference of the stake action.
    pub reference: Option<Reference>,
}

/// A request to stake SOL with a validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeRequest {
    pub validator: String,
    /// Decimal SOL, such as `"2.5"`.
    pub amount: String,
    pub idempotency_key: String,
}

/// A request to unstake a stake account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnstakeRequest {
    /// Makes the unstake safe to retry: the same key answers with the first unstake. Optional
    /// only so that callers that send none yet keep working; without one, a retry of an unstake
    /// that went through is told the stake is already unstaked.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A request to withdraw an inactive stake account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequest {
    pub idempotency_key: String,
}

/// Everything the stake page shows: the epoch, the validators and the caller's stake accounts
/// (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakeOverview {
    pub epoch: EpochInfo,
    pub validators: Vec<Validator>,
    pub accounts: Vec<StakeAccount>,
}
