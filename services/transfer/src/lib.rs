//! The transfer service: a wallet sends tokens to another Solstice wallet.
//!
//! Each transfer is one ledger transaction (sender to recipient), keyed by the sender's
//! idempotency key, with the memo stored as the record's details. History and look-up by
//! reference read the ledger's records, and only ever those the calling wallet took part in.

mod error;
mod openapi;
mod transfers;

use std::net::SocketAddr;

use axum::{Router, middleware, routing::get};
use clap::Parser;
use solstice_accounts::{KnownWallets, USERS};
use solstice_kit::{
    auth::{Verifier, require_signature},
    http::with_operations,
    start::{CommonConfig, Service, StartError},
};
use solstice_ledger::Ledger;

pub use crate::error::TransferError;

/// Solstice transfer service.
#[derive(Clone, Parser)]
#[command(name = "solstice-transfer", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "TRANSFER_ADDR", default_value = "127.0.0.1:3102")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
}

impl Config {
    /// A service on a free port over `database`, trusting the tests' host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
        }
    }
}

/// Connects to the database, prepares the ledger and binds the configured port.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (verifier, client, database) = config.common.connect("solstice-transfer").await?;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(StartError::setup)?;
    if config.common.watch_orphans {
        ledger.watch_orphans("transfer");
    }
    let state = TransferState { ledger, wallets: KnownWallets::new(database.collection(USERS)) };
    let router = with_operations(api(state, verifier), "transfer", database, openapi::document());
    config.common.bind(config.addr, router).await
}

/// What every request of the transfer service shares.
#[derive(Clone)]
pub(crate) struct TransferState {
    pub ledger: Ledger,
    /// The host's user accounts: this service only checks that a recipient is one.
    pub wallets: KnownWallets,
}

fn api(state: TransferState, verifier: Verifier) -> Router {
    Router::new()
        .route("/v1/transfers", get(transfers::history).post(transfers::send))
        .route("/v1/transfers/{reference}", get(transfers::by_reference))
        .route("/v1/recipients/{address}", get(transfers::recipient))
        .layer(middleware::from_fn_with_state(verifier, require_signature))
        .with_state(state)
}
