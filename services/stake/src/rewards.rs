//! Paying staking rewards: each epoch's reward of each stake account exactly once, in order,
//! whatever the number of replicas and restarts (see the crate's documentation).

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use solstice_kit::{error::error_chain, lease::Lease, lifecycle::Lifecycle};
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
        if settled || epoch >= current_epoch {
            return Ok(());
        }
        if !account.earns_in(epoch) {
            // Unstaked and done earning, waiting to be withdrawn: no epoch up to the last one
            // has anything to reward, so it is marked so, and the payer does not read the
            // account again until another epoch ends (instead of at every poll).
            if !account.withdrawn && account.deactivation_epoch.is_some_and(|deactivation| epoch >= deactivation) {
                let unchanged = doc! { "_id": &account.address, "last_rewarded_epoch": epoch - 1, "withdrawn": false };
                state
                    .accounts
                    .update_one(unchanged, doc! { "$set": { "last_rewarded_epoch": current_epoch - 1 } })
                    .await?;
            }
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

/// The stake service's leases: one document, the reward payer's.
pub const STAKE_LEASES: &str = "stake_leases";
/// The reward payer's lease in [`STAKE_LEASES`].
pub const PAYER_LEASE: &str = "reward_payer";

/// Pays due rewards every `poll` until the service drains, while this replica holds the
/// reward payer's lease: one replica pays at a time, the others stand by and take over when
/// its lease lapses (it died) or is released (it stopped). A reward in progress is finished
/// (or, if the process dies, never committed: each is one transaction), none is started after;
/// and a reward is paid exactly once even by two payers (each has its idempotency key), so a
/// payer that lost its lease without knowing it yet costs nothing but a refused retry.
pub(crate) async fn pay_rewards(state: StakingState, poll: Duration, mut lease: Lease, lifecycle: Lifecycle) {
    let draining = lifecycle.draining();
    tokio::pin!(draining);
    loop {
        match lease.step().await {
            Ok(Some(_)) => {
                // Each pass starts from a random address, so that no account is always last.
                let start = WalletAddress::from_public_key(&rand::random::<[u8; 32]>()).to_string();
                if let Err(error) = pay_all_due(&state, &start, &lifecycle, &mut lease).await {
                    tracing::warn!(error = %error_chain(&error), "paying rewards failed; will retry");
                }
            }
            // Another replica pays.
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "the reward payer's lease cannot be reached; will retry")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = &mut draining => break,
        }
    }
    lease.release().await;
    tracing::info!("stopped paying rewards: shutting down");
}

/// One pass over every account with rewards due: accounts holding stake that are behind, and
/// withdrawn ones still owed rewards, in address order from `start` round to just before it.
/// Read a page at a time (see [`due_page`]); stops as soon as this replica may no longer hold
/// the payer's lease, which it renews as it goes.
async fn pay_all_due(
    state: &StakingState,
    start: &str,
    lifecycle: &Lifecycle,
    lease: &mut Lease,
) -> Result<(), LedgerError> {
    let (epoch, _) = state.epoch_now();
    let behind = doc! { "$lt": epoch - 1 };
    for filter in [
        doc! { "withdrawn": false, "last_rewarded_epoch": behind.clone() },
        doc! { "rewards_owed": { "$gt": 0 }, "last_rewarded_epoch": behind },
    ] {
        for range in [doc! { "$gte": start }, doc! { "$lt": start }] {
            let mut after: Option<String> = None;
            loop {
                if lifecycle.is_draining() {
                    return Ok(());
                }
                let page = due_page(state, &filter, &range, after.as_deref()).await?;
                for account in &page {
                    if !lease.keep().await? {
                        tracing::warn!("no longer sure to hold the reward payer's lease: stopping this pass");
                        return Ok(());
                    }
                    // One account that cannot be paid (its validator gone, the pool short)
                    // must not hold up the others: it is tried again next pass.
                    match pay_due(state, account, epoch).await {
                        Ok(_) => {}
                        // The database itself failing fails the pass (retried next poll).
                        Err(error @ (LedgerError::Database(_) | LedgerError::Busy)) => return Err(error),
                        Err(error) => {
                            tracing::warn!(account = %account.address, error = %error_chain(&error), "paying a reward failed");
                        }
                    }
                }
                if page.len() < state.reward_batch as usize {
                    break;
                }
                after = page.last().map(|account| account.address.clone());
            }
        }
    }
    Ok(())
}

/// The next page of due accounts matching `filter` whose addresses are in `range` (a `$gte` or
/// `$lt` bound of `_id`) and after `after`, in address order: at most the configured batch, so
/// that however many accounts are due at an epoch boundary, the payer holds one page at a time
/// and each query returns a bounded answer.
async fn due_page(
    state: &StakingState,
    filter: &Document,
    range: &Document,
    after: Option<&str>,
) -> Result<Vec<StakeDoc>, LedgerError> {
    let mut ids = range.clone();
    if let Some(after) = after {
        ids.insert("$gt", after);
    }
    let mut filter = filter.clone();
    filter.insert("_id", ids);
    Ok(state
        .accounts
        .find(filter)
        .sort(doc! { "_id": 1 })
        .limit(i64::from(state.reward_batch))
        .await?
        .try_collect()
        .await?)
}

#[cfg(test)]
mod tests {
    use mongodb::bson::DateTime;
    use solstice_ledger::Ledger;

    use super::*;
    use crate::{STAKE_ACCOUNTS, epoch::EpochClock};

    /// An account of `amount` lamports with meridian (no commission), active since `activation`
    /// and rewarded up to the epoch before it.
    fn account(amount: i64, activation: i64, deactivation: Option<i64>) -> StakeDoc {
        StakeDoc {
            address: WalletAddress::from_public_key(&rand::random::<[u8; 32]>()).to_string(),
            wallet: WalletAddress::from_public_key(&[7; 32]).to_string(),
            validator: "meridian".to_owned(),
            principal: amount,
            amount,
            rewards: 0,
            activation_epoch: activation,
            deactivation_epoch: deactivation,
            last_rewarded_epoch: activation - 1,
            withdrawn: false,
            rewards_owed: 0,
            created_at: DateTime::now(),
            reference: None,
            unstake_key: None,
            unstake_reference: None,
            unstaked_at: None,
        }
    }

    /// One pass of the payer, reading two accounts at a time, pays every epoch of every due
    /// account however many pages they fill, and marks the accounts that are done earning so
    /// that later passes skip them.
    #[tokio::test]
    async fn one_pass_pays_every_due_account_page_by_page() {
        let (client, database) = solstice_testkit::fresh_database().await;
        let ledger = Ledger::new(client, &database);
        ledger.init().await.unwrap();
        // Hour-long epochs, so that the test never straddles a boundary.
        let clock = EpochClock { origin_ms: 0, length_ms: 3_600_000 };
        let accounts = database.collection(STAKE_ACCOUNTS);
        let locks = database.collection(crate::lock::STAKE_LOCKS);
        let state = StakingState { ledger, accounts, clock, reward_batch: 2, max_open_accounts: 100, locks };
        let (current, _) = state.epoch_now();
        let principal = 1_000_000_000_000;
        let due: Vec<StakeDoc> = (0..7).map(|_| account(principal, current - 3, None)).collect();
        // Unstaked before it activated: never earns, and must not hold the others up.
        let done = account(principal, current - 3, Some(current - 3));
        // An account that cannot be paid (its validator is gone) must not either: it is
        // skipped, wherever the pass starts.
        let broken = StakeDoc { validator: "gone".to_owned(), ..account(principal, current - 3, None) };
        state.accounts.insert_many(due.iter().chain([&done, &broken])).await.unwrap();

        let mut lease =
            Lease::new(&database, STAKE_LEASES, PAYER_LEASE, "test".to_owned(), std::time::Duration::from_secs(60));
        assert_eq!(lease.step().await.unwrap(), Some(1));
        let start = WalletAddress::from_public_key(&[128; 32]).to_string();
        pay_all_due(&state, &start, &Lifecycle::new(), &mut lease).await.unwrap();

        let mut expected = lamports(principal);
        for _ in 0..3 {
            expected = expected.checked_add(epoch_reward(expected, 650, 0, 3_600)).unwrap();
        }
        for account in due.iter().chain([&done]) {
            let stored = state.accounts.find_one(doc! { "_id": &account.address }).await.unwrap().unwrap();
            assert_eq!(stored.last_rewarded_epoch, current - 1, "{}", account.address);
            let amount = if account.address == done.address { lamports(principal) } else { expected };
            assert_eq!(lamports(stored.amount), amount, "{}", account.address);
        }
        let stored = state.accounts.find_one(doc! { "_id": &broken.address }).await.unwrap().unwrap();
        assert_eq!(stored.last_rewarded_epoch, current - 4, "left for a later pass");
    }
}
