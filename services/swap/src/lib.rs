//! The swap service: the platform's exchange.
//!
//! Quote, then execute. A quote prices a swap on the latest tick (amounts, fee, price impact)
//! and sets its bound from the user's slippage tolerance: the least received (selling an exact
//! amount) or the most paid (buying one). Executing it prices the swap again on the latest
//! tick and fills at that **live** price, protected by the quote's bound, as on Uniswap and
//! Jupiter: so a quote is never a free option against the treasury. The fill is one ledger
//! transaction against one shard of the exchange's treasury (the fee goes to the fee account's
//! shard beside it; see `treasury`), or fails and moves nothing: when the quote expired, when
//! the price moved past the bound, when prices are stale or the sources disagree, or when
//! funds are short. Quotes are not stored: a quote's id carries its terms, sealed for its
//! wallet (see `sealed`), and the fill's record carries the id under a unique index, so a quote
//! fills at most once.

mod error;
mod model;
mod openapi;
pub mod pricing;
mod quotes;
mod sealed;
mod swaps;
mod treasury;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router, middleware,
    routing::{get, post},
};
use clap::Parser;
use solstice_kit::{
    auth::{Verifier, require_signature},
    http::with_operations,
    lease::Lease,
    start::{CommonConfig, Service, StartError},
};
use solstice_ledger::{Ledger, MAX_SHARDS};
use solstice_market::store::Ticks;

pub use crate::{error::SwapError, sealed::SWAP_KEYS};

/// The service's `POST`s that change nothing, so that a replay of one is harmless and its
/// nonce is not recorded: a quote is sealed into its id and stored nowhere.
pub const EFFECT_FREE_POSTS: &[&str] = &["/v1/quotes"];

/// Solstice swap service.
#[derive(Clone, Parser)]
#[command(name = "solstice-swap", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SWAP_ADDR", default_value = "127.0.0.1:3103")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
    /// A tick older than this many seconds is stale: nothing is quoted or filled at it.
    #[arg(long, env = "SOLSTICE_PRICE_FRESHNESS_SECONDS", default_value_t = 10)]
    pub freshness_seconds: u64,
    /// How long a quote can be executed, in seconds.
    #[arg(long, env = "SWAP_QUOTE_TTL_SECONDS", default_value_t = 30)]
    pub quote_ttl_seconds: u32,
    /// How many shards the exchange's treasury (and fee account) is split into, 1 to 64. Each
    /// swap writes one shard, so this many swaps can be filled at once without waiting for one
    /// another. Lowering it later is safe: the shards past the new number are emptied into
    /// the others.
    #[arg(long, env = "SWAP_TREASURY_SHARDS", default_value_t = 8)]
    pub treasury_shards: u8,
    /// How often the replica holding the rebalancer's lease evens out the treasury's shards,
    /// in milliseconds.
    #[arg(long, env = "SWAP_REBALANCE_MS", default_value_t = 2_000)]
    pub rebalance_ms: u64,
    /// Length of the rebalancer's lease, in milliseconds: another replica takes the
    /// rebalancing over within this when the one doing it dies.
    #[arg(long, env = "SWAP_REBALANCE_LEASE_MS", default_value_t = 10_000)]
    pub rebalance_lease_ms: u64,
}

impl Config {
    /// A service on a free port over `database`, trusting the tests' host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            freshness_seconds: 10,
            quote_ttl_seconds: 30,
            treasury_shards: 8,
            rebalance_ms: 300,
            rebalance_lease_ms: 1_000,
        }
    }
}

/// Connects to the database, follows the market recorder's ticks and binds the configured port.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (verifier, client, database) = config.common.connect("solstice-swap").await?;
    let ticks = Ticks::follow(&database, Duration::from_secs(config.freshness_seconds.max(1)));
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(StartError::setup)?;
    if config.common.watch_orphans {
        ledger.watch_orphans("swap");
    }
    let quote_key = sealed::QuoteKey::load(&database).await?;
    if !(1..=MAX_SHARDS).contains(&config.treasury_shards) {
        return Err(StartError::Config(format!("SWAP_TREASURY_SHARDS must be 1 to {MAX_SHARDS}")));
    }
    let ttl = Duration::from_secs(u64::from(config.quote_ttl_seconds.max(1)));
    let state =
        SwapState { ledger: ledger.clone(), quote_key, ticks, quote_ttl: ttl, treasury_shards: config.treasury_shards };
    let every = Duration::from_millis(config.rebalance_ms.max(10));
    let lease = Lease::new(
        &database,
        treasury::SWAP_LEASES,
        treasury::REBALANCER_LEASE,
        Lease::holder_name("swap"),
        Duration::from_millis(config.rebalance_lease_ms).max(2 * every),
    );
    let router = with_operations(api(state, verifier), "swap", database, openapi::document());
    let service = config.common.bind(config.addr, router).await?;
    tokio::spawn(treasury::rebalance(ledger, config.treasury_shards, every, lease, service.lifecycle()));
    Ok(service)
}

/// What every request of the swap service shares.
#[derive(Clone)]
pub(crate) struct SwapState {
    pub ledger: Ledger,
    pub quote_key: sealed::QuoteKey,
    pub ticks: Ticks,
    pub quote_ttl: Duration,
    pub treasury_shards: u8,
}

fn api(state: SwapState, verifier: Verifier) -> Router {
    Router::new()
        .route("/v1/quotes", post(quotes::quote))
        .route("/v1/swaps", get(swaps::history).post(swaps::execute))
        .route("/v1/swaps/{reference}", get(swaps::by_reference))
        .layer(middleware::from_fn_with_state(verifier.effect_free(EFFECT_FREE_POSTS), require_signature))
        .with_state(state)
}
