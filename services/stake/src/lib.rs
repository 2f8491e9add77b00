//! The stake service: SOL delegated to validators, after Solana's model.
//!
//! A new stake account is *activating* until the next epoch boundary, then *active* and
//! earning a reward every epoch (compounded, the validator's commission deducted); unstaking
//! makes it *deactivating* until the next boundary, then *inactive*; only inactive stake can be
//! withdrawn. Staked SOL sits in the stake-pool account of the ledger; rewards are paid into it
//! from the staking-rewards account.
//!
//! One replica pays rewards at a time: the one holding the reward payer's lease (a document in
//! `stake_leases`, renewed as it works; see `solstice_kit::lease`). The others stand by and
//! take over within the lease's length when the payer dies, or at once when it stops. It walks
//! the due accounts a page at a time. Each epoch's reward of each stake account is one ledger
//! transaction whose idempotency key names the account and the epoch, applied together with
//! advancing the account's `last_rewarded_epoch` from the epoch before. So even when two
//! replicas pay for a moment (a payer that lost its lease and has not noticed yet), and however
//! often they restart, every reward is paid exactly once and in order.
//!
//! The principal always comes back: a withdrawal does not wait for the rewards pool. When the
//! pool cannot pay what the account earned, the account is withdrawn with those rewards owed
//! (shown as `rewards_owed`), and the reward payer pays them straight to the wallet, in the
//! same per-epoch transactions, once the pool is funded again.

mod epoch;
mod error;
mod lock;
pub mod model;
mod openapi;
mod rewards;
mod routes;
mod validators;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::State,
    middleware,
    routing::{get, post},
};
use clap::Parser;
use mongodb::{
    Collection, IndexModel,
    bson::{DateTime, doc},
    options::IndexOptions,
};
use solstice_kit::{
    auth::{Verifier, require_signature},
    http::with_operations,
    lease::Lease,
    start::{CommonConfig, Service, StartError},
};
use solstice_ledger::Ledger;
use solstice_types::stake::EpochInfo;

pub use crate::{
    epoch::{EpochClock, epoch_reward},
    error::StakeError,
    model::{STAKE_ACCOUNTS, StakeDoc},
    validators::validators,
};

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
    /// How often the reward payer looks for rewards that are due, and each other replica
    /// checks whether the payer's lease lapsed, in milliseconds.
    #[arg(long, env = "STAKE_REWARD_POLL_MS", default_value_t = 1_000)]
    pub reward_poll_ms: u64,
    /// Length of the reward payer's lease, in milliseconds: one replica pays rewards at a
    /// time, and when it dies another takes over within this (at least twice the poll).
    #[arg(long, env = "STAKE_REWARD_LEASE_MS", default_value_t = 10_000)]
    pub reward_lease_ms: u64,
    /// How many due stake accounts the reward payer reads at a time: it pays them page by page,
    /// so its memory and each query stay bounded however many accounts there are.
    #[arg(long, env = "STAKE_REWARD_BATCH", default_value_t = 500)]
    pub reward_batch: u32,
    /// Most stake accounts not yet withdrawn that one wallet may hold; the next stake is
    /// refused (409) until one is withdrawn. Every such account is rewarded every epoch, so
    /// this bounds the work one wallet can make the reward payer do.
    #[arg(long, env = "STAKE_MAX_OPEN_ACCOUNTS", default_value_t = 100)]
    pub max_open_accounts: u32,
}

impl Config {
    /// A service on a free port over `database`, trusting the tests' host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            epoch_seconds: 2,
            reward_poll_ms: 100,
            reward_lease_ms: 1_000,
            reward_batch: 500,
            max_open_accounts: 100,
        }
    }
}

/// Connects to the database, prepares the ledger, binds the port and starts paying rewards.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (verifier, client, database) = config.common.connect("solstice-stake").await?;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(StartError::setup)?;
    if config.common.watch_orphans {
        ledger.watch_orphans("stake");
    }
    let accounts: Collection<StakeDoc> = database.collection(STAKE_ACCOUNTS);
    for keys in [
        doc! { "wallet": 1, "created_at": -1 },
        doc! { "withdrawn": 1, "last_rewarded_epoch": 1 },
        // The reward payer walks due accounts page by page in address order.
        doc! { "withdrawn": 1, "_id": 1 },
        // The reward payer finds withdrawn accounts still owed rewards.
        doc! { "rewards_owed": 1 },
        // A wallet's open stake accounts are counted before each new stake.
        doc! { "wallet": 1, "withdrawn": 1 },
    ] {
        accounts.create_index(IndexModel::builder().keys(keys).build()).await?;
    }
    // A retried unstake finds the account its key unstaked; a key unstakes one account only.
    let unique = IndexOptions::builder().unique(true).sparse(true).name("unstake_key_unique".to_owned()).build();
    accounts.create_index(IndexModel::builder().keys(doc! { "unstake_key": 1 }).options(unique).build()).await?;
    for (value, name) in [
        (config.epoch_seconds, "STAKE_EPOCH_SECONDS"),
        (u64::from(config.reward_batch), "STAKE_REWARD_BATCH"),
        (u64::from(config.max_open_accounts), "STAKE_MAX_OPEN_ACCOUNTS"),
    ] {
        if value == 0 {
            return Err(StartError::Config(format!("{name} must be at least 1")));
        }
    }
    let clock = EpochClock { origin_ms: 0, length_ms: config.epoch_seconds as i64 * 1_000 };
    let state = StakingState {
        ledger,
        accounts,
        clock,
        reward_batch: config.reward_batch,
        max_open_accounts: config.max_open_accounts,
        locks: database.collection(lock::STAKE_LOCKS),
    };
    let poll = Duration::from_millis(config.reward_poll_ms.max(10));
    let lease = Lease::new(
        &database,
        rewards::STAKE_LEASES,
        rewards::PAYER_LEASE,
        Lease::holder_name("stake"),
        Duration::from_millis(config.reward_lease_ms).max(2 * poll),
    );
    let router = with_operations(api(state.clone(), verifier), "stake", database, openapi::document());
    let service = config.common.bind(config.addr, router).await?;
    tokio::spawn(rewards::pay_rewards(state, poll, lease, service.lifecycle()));
    Ok(service)
}

/// What every request and the reward payer of the stake service share.
#[derive(Clone)]
pub(crate) struct StakingState {
    pub ledger: Ledger,
    pub accounts: Collection<StakeDoc>,
    pub clock: EpochClock,
    pub reward_batch: u32,
    pub max_open_accounts: u32,
    /// Each wallet's lock on opening stakes (see [`lock`]).
    pub locks: Collection<mongodb::bson::Document>,
}

impl StakingState {
    pub fn epoch_now(&self) -> (i64, i64) {
        let now = DateTime::now().timestamp_millis();
        (self.clock.epoch_at(now), now)
    }

    /// The length of an epoch in whole seconds, as rewards are computed.
    pub fn epoch_seconds(&self) -> u64 {
        (self.clock.length_ms / 1_000).max(1) as u64
    }

    pub fn epoch_info(&self) -> EpochInfo {
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

fn api(state: StakingState, verifier: Verifier) -> Router {
    Router::new()
        .route("/v1/validators", get(|| async { axum::Json(validators()) }))
        .route("/v1/epoch", get(|State(state): State<StakingState>| async move { axum::Json(state.epoch_info()) }))
        .route("/v1/stakes", get(routes::overview).post(routes::stake))
        .route("/v1/stakes/{address}/unstake", post(routes::unstake))
        .route("/v1/stakes/{address}/withdraw", post(routes::withdraw))
        .layer(middleware::from_fn_with_state(verifier, require_signature))
        .with_state(state)
}
