//! Paying staking rewards: each epoch's reward of each stake account exactly once, in order,
//! whatever the number of replicas and restarts (see the crate's documentation).

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::doc;
use solstice_kit::{error::error_chain, lifecycle::Lifecycle};
use solstice_ledger::{AccountId, IdempotencyKey, LedgerError, Leg, SideWrite, SystemAccount, TransactionRequest};
use solstice_types::{Amount, ReferenceKind, Token, WalletAddress};

use crate::{
    StakingState,
    epoch::epoch_reward,
    model::{STAKE_ACCOUNTS, StakeDoc, lamports},
    validators::validator,
};

/// Pays every reward `account` is due for epochs that ended before `current_epoch`, one epoch
/// at a time, each exactly once (see the module's documentation): into the stake pool while the
/// account holds stake, to the wallet once it was withdrawn with rewards owed.
pub(crate) async fn pay_due(state: &StakingState, account: &StakeDoc, current_epoch: i64) -> Result<(), LedgerError> {
    let mut account = account.clone();
    let seconds = state.epoch_seconds();
    loop {
        let epoch = account.last_rewarded_epoch + 1;
        let settled = account.withdrawn && account.rewards_owed <= 0;
        if settled || epoch >= current_epoch || !account.earns_in(epoch) {
            return Ok(());
        }
        let chosen = validator(&account.validator).ok_or_else(|| LedgerError::Corrupt(account.validator.clone()))?;
        let reward = epoch_reward(lamports(account.amount), chosen.apy_bps, chosen.commission_bps, seconds);
        let advance =
            doc! { "_id": &account.address, "last_rewarded_epoch": epoch - 1, "withdrawn": account.withdrawn };
        let mut set = doc! { "last_rewarded_epoch": epoch };
        if account.withdrawn {
            // What is still owed after this epoch's reward: nothing after the last earning epoch,
            // whatever rounding the owed total was computed with.
            let left = if account.earns_in(epoch + 1) { (account.rewards_owed - reward.as_i64()).max(0) } else { 0 };
            set.insert("rewards_owed", left);
        }
        if reward.is_zero() {
            state.accounts.update_one(advance, doc! { "$set": set }).await?;
        } else {
            let key = IdempotencyKey::new(format!("reward:{}:{epoch}", account.address))?;
            let to = if account.withdrawn {
                let wallet =
                    WalletAddress::parse(&account.wallet).map_err(|_| LedgerError::Corrupt(account.wallet.clone()))?;
                AccountId::wallet(&wallet)
            } else {
                AccountId::System(SystemAccount::StakePool)
            };
            let leg =
                Leg { from: AccountId::System(SystemAccount::StakeRewards), to, token: Token::Sol, amount: reward };
            let request = TransactionRequest::new(ReferenceKind::Stake, key, vec![leg])
                .with_details(doc! { "action": "reward", "stake_account": &account.address, "epoch": epoch })
                .with_side_write(SideWrite::Update {
                    collection: STAKE_ACCOUNTS.to_owned(),
                    filter: advance,
                    update: doc! { "$set": set, "$inc": { "amount": reward.as_i64(), "rewards": reward.as_i64() } },
                });
            match state.ledger.apply(request).await {
                // Paid now, or by another replica before us (the ledger replays its receipt).
                Ok(_) | Err(LedgerError::Precondition(_) | LedgerError::IdempotencyConflict(_)) => {}
                Err(error) => return Err(error),
            }
        }
        match state.accounts.find_one(doc! { "_id": &account.address }).await? {
            Some(fresh) if fresh.last_rewarded_epoch >= epoch => account = fresh,
            // Nothing moved (withdrawn meanwhile, to be paid from the owed rewards): stop here.
            _ => return Ok(()),
        }
    }
}

/// What `account` earned in the epochs before `current_epoch` that it has not been paid,
/// compounded exactly as [`pay_due`] would pay it.
pub(crate) fn unpaid_rewards(
    account: &StakeDoc,
    current_epoch: i64,
    epoch_seconds: u64,
) -> Result<Amount, LedgerError> {
    let chosen = validator(&account.validator).ok_or_else(|| LedgerError::Corrupt(account.validator.clone()))?;
    let mut amount = lamports(account.amount);
    let mut unpaid = Amount::ZERO;
    let mut epoch = account.last_rewarded_epoch + 1;
    while epoch < current_epoch && account.earns_in(epoch) {
        let reward = epoch_reward(amount, chosen.apy_bps, chosen.commission_bps, epoch_seconds);
        let overflow = || LedgerError::Corrupt(format!("rewards of {}", account.address));
        amount = amount.checked_add(reward).ok_or_else(overflow)?;
        unpaid = unpaid.checked_add(reward).ok_or_else(overflow)?;
        epoch += 1;
    }
    Ok(unpaid)
}

/// Pays due rewards every `poll` until the service drains. A reward in progress is finished
/// (or, if the process dies, never committed: each is one transaction), none is started after.
pub(crate) async fn pay_rewards(state: StakingState, poll: Duration, lifecycle: Lifecycle) {
    let draining = lifecycle.draining();
    tokio::pin!(draining);
    loop {
        if let Err(error) = pay_all_due(&state, &lifecycle).await {
            tracing::warn!(error = %error_chain(&error), "paying rewards failed; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = &mut draining => break,
        }
    }
    tracing::info!("stopped paying rewards: shutting down");
}

async fn pay_all_due(state: &StakingState, lifecycle: &Lifecycle) -> Result<(), LedgerError> {
    let (epoch, _) = state.epoch_now();
    // Accounts holding stake that are behind, and withdrawn ones still owed rewards.
    let behind = doc! { "$lt": epoch - 1 };
    let mut due: Vec<StakeDoc> = Vec::new();
    for filter in [
        doc! { "withdrawn": false, "last_rewarded_epoch": behind.clone() },
        doc! { "rewards_owed": { "$gt": 0 }, "last_rewarded_epoch": behind },
    ] {
        due.extend(state.accounts.find(filter).await?.try_collect::<Vec<_>>().await?);
    }
    due.retain(|account| account.earns_in(account.last_rewarded_epoch + 1));
    // Replicas start from different places, so that they mostly work on different accounts.
    let offset = if due.is_empty() { 0 } else { rand::random::<usize>() % due.len() };
    due.rotate_left(offset);
    for account in &due {
        if lifecycle.is_draining() {
            break;
        }
        pay_due(state, account, epoch).await?;
    }
    Ok(())
}
