//! The stake service: SOL delegated to validators, after Solana's model.
//!
//! A new stake account is *activating* until the next epoch boundary, then *active* and
//! earning a reward every epoch (compounded, the validator's commission deducted); unstaking
//! makes it *deactivating* until the next boundary, then *inactive*; only inactive stake can be
//! withdrawn. Staked SOL sits in the stake-pool account of the ledger; rewards are paid into it
//! from the staking-rewards account.
//!
//! Each epoch's reward of each stake account is one ledger transaction whose idempotency key
//! names the account and the epoch, applied together with advancing the account's
//! `last_rewarded_epoch` from the epoch before. So however many replicas pay rewards, and
//! however often they restart, every reward is paid exactly once and in order.

mod epoch;
mod openapi;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Extension, Router,
    extract::{Path, State},
    http::StatusCode,
    middleware,
    routing::{get, post},
};
use clap::Parser;
use futures::TryStreamExt;
use mongodb::{
    Collection, IndexModel,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};
use solstice_ledger::{
    AccountId, IdempotencyKey, Ledger, LedgerError, Leg, SideWrite, SystemAccount, TransactionRequest,
};
use solstice_service::{
    auth::{Caller, ServiceSecret, require_signature},
    error::{self, ErrorResponse, internal},
    extract::Json,
    http::with_operations,
    input,
    lifecycle::Lifecycle,
    start::{CommonConfig, Service, StartError},
};
use solstice_types::{
    Amount, ApiError, ErrorCode, Reference, Token, WalletAddress,
    stake::{
        EpochInfo, MIN_STAKE_LAMPORTS, StakeAccount, StakeOverview, StakeRequest, StakeState, Validator,
        WithdrawRequest,
    },
};

pub use crate::epoch::{EpochClock, epoch_reward};

/// Collection of [`StakeDoc`].
pub const STAKE_ACCOUNTS: &str = "stake_accounts";

/// Solstice stake service.
#[derive(Clone, Parser)]
#[command(name = "solstice-stake", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "STAKE_ADDR", default_value = "127.0.0.1:3104")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
    /// Length of an epoch, in seconds: minutes for a demo, about two days in production
    /// (Solana's are 2 to 3 days). Every replica must use the same.
    #[arg(long, env = "STAKE_EPOCH_SECONDS", default_value_t = 172_800)]
    pub epoch_seconds: u64,
    /// How often each replica looks for rewards that are due, in milliseconds.
    #[arg(long, env = "STAKE_REWARD_POLL_MS", default_value_t = 1_000)]
    pub reward_poll_ms: u64,
}

impl Config {
    /// A service on a free port over `database`, with the secret the tests share with the host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            epoch_seconds: 2,
            reward_poll_ms: 100,
        }
    }
}

/// The validators on offer. Fixed for now; a real deployment would read them from the cluster.
pub fn validators() -> Vec<Validator> {
    let validator = |id: &str, name: &str, commission_bps, apy_bps| Validator {
        id: id.to_owned(),
        name: name.to_owned(),
        commission_bps,
        apy_bps,
    };
    vec![
        validator("solstice", "Solstice Validator", 500, 700),
        validator("aurora", "Aurora Staking", 800, 720),
        validator("meridian", "Meridian Nodes", 0, 650),
        validator("polaris", "Polaris Labs", 1_000, 760),
    ]
}

/// Connects to the database, prepares the ledger, binds the port and starts paying rewards.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (secret, client, database) = config.common.connect("solstice-stake").await?;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(|e| StartError(format!("preparing the ledger: {e}")))?;
    let accounts: Collection<StakeDoc> = database.collection(STAKE_ACCOUNTS);
    for keys in [doc! { "wallet": 1, "created_at": -1 }, doc! { "withdrawn": 1, "last_rewarded_epoch": 1 }] {
        accounts
            .create_index(IndexModel::builder().keys(keys).build())
            .await
            .map_err(|e| StartError(format!("creating the stake indexes: {}", e.kind)))?;
    }
    if config.epoch_seconds == 0 {
        return Err(StartError("STAKE_EPOCH_SECONDS must be at least 1".to_owned()));
    }
    let clock = EpochClock { origin_ms: 0, length_ms: config.epoch_seconds as i64 * 1_000 };
    let state = AppState { ledger, accounts, clock };
    let router = with_operations(api(state.clone(), secret), "stake", database, openapi::document());
    let service = config.common.bind(config.addr, router).await?;
    tokio::spawn(pay_rewards(state, Duration::from_millis(config.reward_poll_ms.max(10)), service.lifecycle()));
    Ok(service)
}

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    accounts: Collection<StakeDoc>,
    clock: EpochClock,
}

impl AppState {
    fn epoch_now(&self) -> (i64, i64) {
        let now = DateTime::now().timestamp_millis();
        (self.clock.epoch_at(now), now)
    }

    fn epoch_info(&self) -> EpochInfo {
        let (epoch, now_ms) = self.epoch_now();
        EpochInfo {
            epoch,
            started_at_ms: self.clock.start_of(epoch),
            ends_at_ms: self.clock.start_of(epoch + 1),
            length_ms: self.clock.length_ms,
            now_ms,
        }
    }
}

fn api(state: AppState, secret: ServiceSecret) -> Router {
    Router::new()
        .route("/v1/validators", get(|| async { axum::Json(validators()) }))
        .route("/v1/epoch", get(|State(state): State<AppState>| async move { axum::Json(state.epoch_info()) }))
        .route("/v1/stakes", get(overview).post(stake))
        .route("/v1/stakes/{address}/unstake", post(unstake))
        .route("/v1/stakes/{address}/withdraw", post(withdraw))
        .layer(middleware::from_fn_with_state(secret, require_signature))
        .with_state(state)
}

/// A stake account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StakeDoc {
    #[serde(rename = "_id")]
    address: String,
    wallet: String,
    validator: String,
    principal: i64,
    /// Principal plus rewards paid so far, in lamports: what the stake pool holds for it.
    amount: i64,
    rewards: i64,
    activation_epoch: i64,
    deactivation_epoch: Option<i64>,
    /// Every epoch up to this one has been rewarded (or had nothing to reward).
    last_rewarded_epoch: i64,
    withdrawn: bool,
    created_at: DateTime,
    reference: Option<String>,
}

impl StakeDoc {
    fn state(&self, epoch: i64) -> StakeState {
        match self.deactivation_epoch {
            _ if self.withdrawn => StakeState::Withdrawn,
            Some(deactivation) if epoch >= deactivation => StakeState::Inactive,
            Some(_) => StakeState::Deactivating,
            None if epoch < self.activation_epoch => StakeState::Activating,
            None => StakeState::Active,
        }
    }

    /// Whether the stake earned during `epoch`.
    fn earns_in(&self, epoch: i64) -> bool {
        epoch >= self.activation_epoch && self.deactivation_epoch.is_none_or(|deactivation| epoch < deactivation)
    }
}

fn err(code: ErrorCode, message: impl Into<String>) -> ErrorResponse {
    ErrorResponse(ApiError::new(code, message))
}

fn validator(id: &str) -> Option<Validator> {
    validators().into_iter().find(|v| v.id == id)
}

fn lamports(units: i64) -> Amount {
    u64::try_from(units).ok().and_then(Amount::from_base_units).unwrap_or(Amount::ZERO)
}

fn view(doc: &StakeDoc, epoch: i64) -> StakeAccount {
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
        activation_epoch: doc.activation_epoch,
        deactivation_epoch: doc.deactivation_epoch,
        created_at_ms: doc.created_at.timestamp_millis(),
        reference: doc.reference.as_deref().and_then(|r| Reference::parse(r).ok()),
    }
}

/// `GET /v1/stakes`: the epoch, the validators and the caller's stake accounts.
async fn overview(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<StakeOverview>, ErrorResponse> {
    let epoch = state.epoch_info();
    let docs =
        own_accounts(&state, &caller.wallet).await.map_err(|error| internal("reading stake accounts", &error))?;
    let accounts = docs.iter().map(|doc| view(doc, epoch.epoch)).collect();
    Ok(axum::Json(StakeOverview { epoch, validators: validators(), accounts }))
}

/// The wallet's stake accounts, newest first (the latest 200).
async fn own_accounts(state: &AppState, wallet: &WalletAddress) -> mongodb::error::Result<Vec<StakeDoc>> {
    state
        .accounts
        .find(doc! { "wallet": wallet.as_str() })
        .sort(doc! { "created_at": -1 })
        .limit(200)
        .await?
        .try_collect()
        .await
}

/// `POST /v1/stakes`: moves SOL from the wallet into a new stake account.
async fn stake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<StakeRequest>,
) -> Result<(StatusCode, axum::Json<StakeAccount>), ErrorResponse> {
    let chosen = validator(&request.validator)
        .ok_or_else(|| err(ErrorCode::InvalidInput, "Choose one of the listed validators."))?;
    let amount = input::positive_amount(&request.amount, Token::Sol)?;
    if amount.base_units() < MIN_STAKE_LAMPORTS {
        let minimum = Amount::from_base_units(MIN_STAKE_LAMPORTS).expect("a valid amount");
        return Err(err(ErrorCode::InvalidAmount, format!("Stake at least {} SOL.", minimum.format_display(9, 9))));
    }
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let key = IdempotencyKey::new(format!("stk:{}:{client_key}", caller.wallet)).map_err(|_| ApiError::internal())?;
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
        created_at: DateTime::now(),
        reference: None,
    };
    let document = mongodb::bson::to_document(&record).map_err(|error| internal("storing a stake", &error))?;
    let leg = Leg {
        from: AccountId::wallet(&caller.wallet),
        to: AccountId::System(SystemAccount::StakePool),
        token: Token::Sol,
        amount,
    };
    let request = TransactionRequest::new(solstice_types::ReferenceKind::Stake, key, vec![leg])
        .with_details(doc! { "action": "stake", "stake_account": &address, "validator": &chosen.id })
        .with_side_write(SideWrite::Insert {
            collection: STAKE_ACCOUNTS.to_owned(),
            document,
            reference_field: Some("reference".to_owned()),
        });
    let receipt = state.ledger.apply(request).await.map_err(|error| match error {
        LedgerError::InsufficientFunds { .. } => {
            err(ErrorCode::InsufficientFunds, "Your SOL balance is too low to stake this much.")
        }
        other => error::ledger("staking", other),
    })?;
    // A retry gets the stake account the first request created.
    let address = receipt
        .details
        .as_ref()
        .and_then(|details| details.get_str("stake_account").ok())
        .unwrap_or(&address)
        .to_owned();
    let stored = find_own(&state, &caller.wallet, &address).await?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(view(&stored, epoch))))
}

async fn find_own(state: &AppState, wallet: &WalletAddress, address: &str) -> Result<StakeDoc, ErrorResponse> {
    state
        .accounts
        .find_one(doc! { "_id": address, "wallet": wallet.as_str() })
        .await
        .map_err(|error| internal("reading a stake account", &error))?
        .ok_or_else(|| err(ErrorCode::NotFound, "You have no stake account with this address."))
}

/// `POST /v1/stakes/{address}/unstake`: stops an activating or active stake at the end of
/// the current epoch.
async fn unstake(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(address): Path<String>,
) -> Result<axum::Json<StakeAccount>, ErrorResponse> {
    let current = find_own(&state, &caller.wallet, &address).await?;
    let (epoch, _) = state.epoch_now();
    let already = || err(ErrorCode::Conflict, "This stake is already unstaked.");
    match current.state(epoch) {
        StakeState::Activating | StakeState::Active => {}
        StakeState::Deactivating | StakeState::Inactive => return Err(already()),
        StakeState::Withdrawn => return Err(err(ErrorCode::Conflict, "This stake was already withdrawn.")),
    }
    let updated = state
        .accounts
        .update_one(
            doc! { "_id": &address, "wallet": caller.wallet.as_str(), "deactivation_epoch": null, "withdrawn": false },
            doc! { "$set": { "deactivation_epoch": epoch + 1 } },
        )
        .await
        .map_err(|error| internal("unstaking", &error))?;
    if updated.matched_count == 0 {
        return Err(already());
    }
    let stored = find_own(&state, &caller.wallet, &address).await?;
    Ok(axum::Json(view(&stored, epoch)))
}

/// `POST /v1/stakes/{address}/withdraw`: pays an inactive stake account (principal and
/// rewards) back to the wallet.
async fn withdraw(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(address): Path<String>,
    Json(request): Json<WithdrawRequest>,
) -> Result<(StatusCode, axum::Json<StakeAccount>), ErrorResponse> {
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let key = IdempotencyKey::new(format!("wdr:{}:{client_key}", caller.wallet)).map_err(|_| ApiError::internal())?;
    let (epoch, _) = state.epoch_now();
    let mut current = find_own(&state, &caller.wallet, &address).await?;
    match current.state(epoch) {
        StakeState::Activating | StakeState::Active => {
            return Err(err(
                ErrorCode::Conflict,
                "Only inactive stake can be withdrawn. Unstake it first; it becomes inactive when the epoch ends.",
            ));
        }
        StakeState::Deactivating => {
            return Err(err(
                ErrorCode::Conflict,
                "This stake is still deactivating. You can withdraw it once the current epoch ends.",
            ));
        }
        // A withdrawn account goes on to the ledger, which answers a retry with the first
        // withdrawal and refuses anything else.
        StakeState::Inactive | StakeState::Withdrawn => {}
    }
    // Rewards still due (the last active epoch may have just ended) are paid first, so the
    // withdrawal takes everything the account earned.
    if !current.withdrawn {
        pay_due(&state, &current, epoch).await.map_err(|error| error::ledger("paying due rewards", error))?;
        current = find_own(&state, &caller.wallet, &address).await?;
    }
    let amount = lamports(current.amount);
    let leg = Leg {
        from: AccountId::System(SystemAccount::StakePool),
        to: AccountId::wallet(&caller.wallet),
        token: Token::Sol,
        amount,
    };
    let request = TransactionRequest::new(solstice_types::ReferenceKind::Stake, key, vec![leg])
        .with_details(doc! { "action": "withdraw", "stake_account": &address })
        .with_side_write(SideWrite::Update {
            collection: STAKE_ACCOUNTS.to_owned(),
            filter: doc! { "_id": &address, "withdrawn": false, "last_rewarded_epoch": current.last_rewarded_epoch },
            update: doc! { "$set": { "withdrawn": true } },
        });
    let receipt = state.ledger.apply(request).await.map_err(|error| match error {
        LedgerError::Precondition(_) => err(ErrorCode::Conflict, "This stake was already withdrawn."),
        other => error::ledger("withdrawing", other),
    })?;
    let stored = find_own(&state, &caller.wallet, &address).await?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(view(&stored, epoch))))
}

/// Pays every reward `account` is due for epochs that ended before `current_epoch`, one epoch
/// at a time, each exactly once (see the module's documentation).
async fn pay_due(state: &AppState, account: &StakeDoc, current_epoch: i64) -> Result<(), LedgerError> {
    let mut account = account.clone();
    let seconds = (state.clock.length_ms / 1_000).max(1) as u64;
    loop {
        let epoch = account.last_rewarded_epoch + 1;
        if account.withdrawn || epoch >= current_epoch || !account.earns_in(epoch) {
            return Ok(());
        }
        let chosen = validator(&account.validator).ok_or_else(|| LedgerError::Corrupt(account.validator.clone()))?;
        let reward = epoch_reward(lamports(account.amount), chosen.apy_bps, chosen.commission_bps, seconds);
        let advance = doc! { "_id": &account.address, "last_rewarded_epoch": epoch - 1, "withdrawn": false };
        if reward.is_zero() {
            state.accounts.update_one(advance, doc! { "$set": { "last_rewarded_epoch": epoch } }).await?;
        } else {
            let key = IdempotencyKey::new(format!("reward:{}:{epoch}", account.address))?;
            let leg = Leg {
                from: AccountId::System(SystemAccount::StakeRewards),
                to: AccountId::System(SystemAccount::StakePool),
                token: Token::Sol,
                amount: reward,
            };
            let request = TransactionRequest::new(solstice_types::ReferenceKind::Stake, key, vec![leg])
                .with_details(doc! { "action": "reward", "stake_account": &account.address, "epoch": epoch })
                .with_side_write(SideWrite::Update {
                    collection: STAKE_ACCOUNTS.to_owned(),
                    filter: advance,
                    update: doc! {
                        "$set": { "last_rewarded_epoch": epoch },
                        "$inc": { "amount": reward.as_i64(), "rewards": reward.as_i64() },
                    },
                });
            match state.ledger.apply(request).await {
                // Paid now, or by another replica before us (the ledger replays its receipt).
                Ok(_) | Err(LedgerError::Precondition(_) | LedgerError::IdempotencyConflict(_)) => {}
                Err(error) => return Err(error),
            }
        }
        match state.accounts.find_one(doc! { "_id": &account.address }).await? {
            Some(fresh) if fresh.last_rewarded_epoch >= epoch => account = fresh,
            // Nothing moved (withdrawn meanwhile): stop here.
            _ => return Ok(()),
        }
    }
}

/// Every replica, every `poll`: pays the rewards of every stake account that are due.
/// Pays due rewards every `poll` until the service drains. A reward in progress is finished
/// (or, if the process dies, never committed: each is one transaction), none is started after.
async fn pay_rewards(state: AppState, poll: Duration, lifecycle: Lifecycle) {
    let draining = lifecycle.draining();
    tokio::pin!(draining);
    loop {
        if let Err(error) = pay_all_due(&state, &lifecycle).await {
            tracing::warn!(error = %solstice_service::error::error_chain(&error), "paying rewards failed; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = &mut draining => break,
        }
    }
    tracing::info!("stopped paying rewards: shutting down");
}

async fn pay_all_due(state: &AppState, lifecycle: &Lifecycle) -> Result<(), LedgerError> {
    let (epoch, _) = state.epoch_now();
    let mut due: Vec<StakeDoc> = state
        .accounts
        .find(doc! { "withdrawn": false, "last_rewarded_epoch": { "$lt": epoch - 1 } })
        .await?
        .try_collect()
        .await?;
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
