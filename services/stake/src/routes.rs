//! The stake service's API: the overview, staking, unstaking and withdrawing.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
};
use mongodb::bson::{DateTime, doc};
use solstice_kit::{auth::Caller, extract::Json, input};
use solstice_ledger::{
    AccountId, IdempotencyKey, LedgerError, Leg, Receipt, SideWrite, SystemAccount, TransactionRequest,
    is_duplicate_key,
};
use solstice_types::{
    Reference, ReferenceKind, Token, WalletAddress,
    stake::{
        MIN_STAKE_LAMPORTS, StakeAccount, StakeOverview, StakeRequest, StakeState, UnstakeRequest, WithdrawRequest,
    },
};

use crate::{
    StakingState,
    error::StakeError,
    lock::WalletLock,
    model::{STAKE_ACCOUNTS, StakeDoc, find_own, lamports, own_accounts, view},
    rewards::{pay_due, unpaid_rewards},
    validators::{validator, validators},
};

/// Attempts at a withdrawal whose account keeps changing under it before answering "busy".
const WITHDRAW_ATTEMPTS: usize = 3;

/// `GET /v1/stakes`: the epoch, the validators and the caller's stake accounts.
pub(crate) async fn overview(
    State(state): State<StakingState>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<StakeOverview>, StakeError> {
    let epoch = state.epoch_info();
    let docs = own_accounts(&state.accounts, &caller.wallet).await?;
    let accounts = docs.iter().map(|doc| view(doc, epoch.epoch)).collect();
    Ok(axum::Json(StakeOverview { epoch, validators: validators(), accounts }))
}

/// `POST /v1/stakes`: moves SOL from the wallet into a new stake account.
pub(crate) async fn stake(
    State(state): State<StakingState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<StakeRequest>,
) -> Result<(StatusCode, axum::Json<StakeAccount>), StakeError> {
    let chosen = validator(&request.validator).ok_or(StakeError::UnknownValidator)?;
    let amount = input::positive_amount(&request.amount, Token::Sol)?;
    if amount.base_units() < MIN_STAKE_LAMPORTS {
        return Err(StakeError::BelowMinimum);
    }
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let key = IdempotencyKey::scoped("stk", &caller.wallet, client_key);
    // Counted and created under the wallet's lock, so that stakes of one wallet racing each
    // other cannot pass the limit together. A retry of a stake that was accepted is still
    // answered (by the ledger, below).
    let lock = WalletLock::acquire(&state.locks, &caller.wallet).await?;
    let opened = open_stake(&state, &caller, &chosen, amount, key).await;
    lock.release().await?;
    opened
}

/// Opens the stake account of [`stake`], holding the wallet's lock.
async fn open_stake(
    state: &StakingState,
    caller: &Caller,
    chosen: &solstice_types::stake::Validator,
    amount: solstice_types::Amount,
    key: IdempotencyKey,
) -> Result<(StatusCode, axum::Json<StakeAccount>), StakeError> {
    let open = state.accounts.count_documents(doc! { "wallet": caller.wallet.as_str(), "withdrawn": false }).await?;
    if open >= u64::from(state.max_open_accounts) && state.ledger.replay(&key).await?.is_none() {
        return Err(StakeError::TooManyAccounts(state.max_open_accounts));
    }
    let (epoch, _) = state.epoch_now();
    let address = WalletAddress::from_public_key(&rand::random::<[u8; 32]>()).to_string();
    let record = StakeDoc {
        address: address.clone(),
        wallet: caller.wallet.to_string(),
        validator: chosen.id.clone(),
        principal: amount.as_i64(),
        amount: amount.as_i64(),
        rewards: 0,
        activation_epoch: epoch + 1,
        deactivation_epoch: None,
        last_rewarded_epoch: epoch,
        withdrawn: false,
        rewards_owed: 0,
        created_at: DateTime::now(),
        reference: None,
        unstake_key: None,
        unstake_reference: None,
        unstaked_at: None,
    };
    let document = mongodb::bson::to_document(&record)?;
    let leg = Leg {
        from: AccountId::wallet(&caller.wallet),
        to: AccountId::System(SystemAccount::StakePool),
        token: Token::Sol,
        amount,
    };
    // The validator is part of what the key stands for; the new account's address is not (a
    // retry draws another, and is answered with the first).
    let request = TransactionRequest::new(solstice_types::ReferenceKind::Stake, key, vec![leg])
        .acting_on("validator", &chosen.id)
        .with_details(doc! { "action": "stake", "stake_account": &address, "validator": &chosen.id })
        .with_side_write(SideWrite::Insert {
            collection: STAKE_ACCOUNTS.to_owned(),
            document,
            reference_field: Some("reference".to_owned()),
        });
    let receipt = match state.ledger.apply(request).await {
        Err(LedgerError::InsufficientFunds { .. }) => return Err(StakeError::InsufficientFunds),
        applied => applied?,
    };
    // A retry gets the stake account the first request created.
    let address = receipt
        .details
        .as_ref()
        .and_then(|details| details.get_str("stake_account").ok())
        .unwrap_or(&address)
        .to_owned();
    let stored = find_own(&state.accounts, &caller.wallet, &address).await?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(view(&stored, epoch))))
}

/// `POST /v1/stakes/{address}/unstake`: stops an activating or active stake at the end of
/// the current epoch. With an idempotency key, a retry gets the first unstake's account.
pub(crate) async fn unstake(
    State(state): State<StakingState>,
    Extension(caller): Extension<Caller>,
    Path(address): Path<String>,
    Json(request): Json<UnstakeRequest>,
) -> Result<axum::Json<StakeAccount>, StakeError> {
    let key = match request.idempotency_key.as_deref() {
        Some(client_key) => Some(IdempotencyKey::scoped("uns", &caller.wallet, input::idempotency_key(client_key)?)),
        None => None,
    };
    let (epoch, _) = state.epoch_now();
    if let Some(key) = &key
        && let Some(first) = state.accounts.find_one(doc! { "unstake_key": key.as_str() }).await?
    {
        return unstaked_before(first, &address, epoch);
    }
    let current = find_own(&state.accounts, &caller.wallet, &address).await?;
    match current.state(epoch) {
        StakeState::Activating | StakeState::Active => {}
        StakeState::Deactivating | StakeState::Inactive => return Err(StakeError::AlreadyUnstaked),
        StakeState::Withdrawn => return Err(StakeError::AlreadyWithdrawn),
    }
    // The unstake's own reference number, for the wallet's activity: it moves no money, so
    // the ledger has no record of it.
    let now_ms = DateTime::now().timestamp_millis();
    let reference = Reference::new(ReferenceKind::Stake, now_ms as u64, rand::random::<u32>() >> 2);
    let mut set = doc! {
        "deactivation_epoch": epoch + 1,
        "unstake_reference": reference.as_str(),
        "unstaked_at": DateTime::from_millis(now_ms),
    };
    if let Some(key) = &key {
        set.insert("unstake_key", key.as_str());
    }
    let updated = match state
        .accounts
        .update_one(
            doc! { "_id": &address, "wallet": caller.wallet.as_str(), "deactivation_epoch": null, "withdrawn": false },
            doc! { "$set": set },
        )
        .await
    {
        Ok(updated) => updated,
        // The key is unique: the same key unstaking another account at the same moment won.
        Err(error) if is_duplicate_key(&error) => {
            return Err(StakeError::Ledger(LedgerError::IdempotencyConflict(address)));
        }
        Err(error) => return Err(error.into()),
    };
    let stored = find_own(&state.accounts, &caller.wallet, &address).await?;
    if updated.matched_count == 0 {
        // Another request unstaked it first: this one's own first attempt (sent again before
        // it answered), or a different unstake.
        return match (&key, &stored.unstake_key) {
            (Some(key), Some(first)) if key.as_str() == first => Ok(axum::Json(view(&stored, epoch))),
            _ => Err(StakeError::AlreadyUnstaked),
        };
    }
    Ok(axum::Json(view(&stored, epoch)))
}

/// The answer to an unstake whose key was used before: the account as it is now, when that was
/// this account's unstake; an idempotency conflict when it was another account's. The key is
/// scoped by the wallet, so the account found is always the caller's.
fn unstaked_before(first: StakeDoc, address: &str, epoch: i64) -> Result<axum::Json<StakeAccount>, StakeError> {
    if first.address != address {
        return Err(StakeError::Ledger(LedgerError::IdempotencyConflict(first.address)));
    }
    Ok(axum::Json(view(&first, epoch)))
}

/// `POST /v1/stakes/{address}/withdraw`: pays an inactive stake account (principal and
/// rewards) back to the wallet.
pub(crate) async fn withdraw(
    State(state): State<StakingState>,
    Extension(caller): Extension<Caller>,
    Path(address): Path<String>,
    Json(request): Json<WithdrawRequest>,
) -> Result<(StatusCode, axum::Json<StakeAccount>), StakeError> {
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let key = IdempotencyKey::scoped("wdr", &caller.wallet, client_key);
    let (epoch, _) = state.epoch_now();
    // A retry is answered with the first withdrawal, and the key of another account's
    // withdrawal is refused, before anything (a due reward) moves.
    if let Some(first) = state.ledger.replay(&key).await? {
        return withdrawn_before(&state, &caller.wallet, &address, first, epoch).await;
    }
    let current = find_own(&state.accounts, &caller.wallet, &address).await?;
    match current.state(epoch) {
        StakeState::Activating | StakeState::Active => return Err(StakeError::StillActive),
        StakeState::Deactivating => return Err(StakeError::StillDeactivating),
        // Answered below: by this key's own withdrawal (committed since the look-up above),
        // or "already withdrawn".
        StakeState::Inactive | StakeState::Withdrawn => {}
    }
    // Rewards still due (the last active epoch may have just ended) are paid first, so the
    // withdrawal takes everything the account earned. When the rewards pool cannot pay them
    // (it ran dry), the principal comes back all the same, as a careful exchange must: the
    // unpaid rewards stay owed on the account and the reward payer pays them to the wallet
    // once the pool is funded again.
    if !current.withdrawn {
        match pay_due(&state, &current, epoch).await {
            Ok(()) => {}
            Err(LedgerError::InsufficientFunds { account: AccountId::System(SystemAccount::StakeRewards), .. }) => {
                tracing::warn!(stake_account = %address, "the rewards pool cannot pay; withdrawing with rewards owed");
            }
            Err(error) => return Err(error.into()),
        }
    }
    // The account can change between reading it and withdrawing it (the reward payer paid an
    // epoch): then the withdrawal, which must take exactly what the pool holds for it, is
    // worked out again.
    for _ in 0..WITHDRAW_ATTEMPTS {
        let current = find_own(&state.accounts, &caller.wallet, &address).await?;
        if current.withdrawn {
            break;
        }
        let owed = unpaid_rewards(&current, epoch, state.epoch_seconds())?;
        let leg = Leg {
            from: AccountId::System(SystemAccount::StakePool),
            to: AccountId::wallet(&caller.wallet),
            token: Token::Sol,
            amount: lamports(current.amount),
        };
        let request = TransactionRequest::new(solstice_types::ReferenceKind::Stake, key.clone(), vec![leg])
            .acting_on("stake_account", &address)
            .with_details(doc! { "action": "withdraw", "stake_account": &address })
            .with_side_write(SideWrite::Update {
                collection: STAKE_ACCOUNTS.to_owned(),
                filter: doc! { "_id": &address, "withdrawn": false, "last_rewarded_epoch": current.last_rewarded_epoch },
                update: doc! { "$set": { "withdrawn": true, "rewards_owed": owed.as_i64() } },
            });
        match state.ledger.apply(request).await {
            Ok(receipt) => {
                let stored = find_own(&state.accounts, &caller.wallet, &address).await?;
                let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
                return Ok((status, axum::Json(view(&stored, epoch))));
            }
            Err(LedgerError::Precondition(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    // Withdrawn meanwhile: by this request sent again before it answered, or by another.
    match state.ledger.replay(&key).await? {
        Some(first) => withdrawn_before(&state, &caller.wallet, &address, first, epoch).await,
        None if find_own(&state.accounts, &caller.wallet, &address).await?.withdrawn => {
            Err(StakeError::AlreadyWithdrawn)
        }
        None => Err(LedgerError::Busy.into()),
    }
}

/// The answer to a withdrawal whose key was used before: the account, when it was this
/// account's withdrawal; an idempotency conflict when it was another account's.
async fn withdrawn_before(
    state: &StakingState,
    wallet: &WalletAddress,
    address: &str,
    first: Receipt,
    epoch: i64,
) -> Result<(StatusCode, axum::Json<StakeAccount>), StakeError> {
    let target = first.details.as_ref().and_then(|details| details.get_str("stake_account").ok());
    if target != Some(address) {
        return Err(StakeError::Ledger(LedgerError::IdempotencyConflict(first.reference.to_string())));
    }
    let stored = find_own(&state.accounts, wallet, address).await?;
    Ok((StatusCode::OK, axum::Json(view(&stored, epoch))))
}
