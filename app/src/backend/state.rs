//! Everything the server functions need, built once at start-up.

use std::sync::Arc;

use mongodb::{Client, Collection, Database};
use solstice_accounts::{USERS, UserDoc};
use solstice_kit::start::StartError;
use solstice_ledger::Ledger;
use solstice_types::Amount;
use tokio::sync::Semaphore;

/// How often each host looks for new ledger records to tell browsers about.
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

use super::{
    accounts,
    api_keys::ApiKeys,
    events::AccountEvents,
    prices::{PriceConfig, PriceHub},
    rate_limit::{Limits, RateLimiter},
    services::Services,
};

/// The host's rules for accounts and prices, from its configuration.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The largest initial SOL balance a new account may ask for.
    pub max_initial_sol: Amount,
    pub limits: Limits,
    pub prices: PriceConfig,
    /// How long a session lasts after log-in, however active.
    pub session_lifetime: std::time::Duration,
    /// Rows the activity's CSV export reads from the portfolio service at a time.
    pub export_page_rows: u32,
    /// Requests each API key may make per minute on the public API.
    pub api_requests_per_minute: u32,
    /// End the database sessions of a host replica that died mid-transaction (see
    /// `solstice_ledger`'s orphans).
    pub watch_orphans: bool,
}

/// Shared by all requests: one allocation, so that handing it to each request (the server
/// functions' context is built per request) costs a reference count, not a copy of every part.
#[derive(Clone)]
pub struct HostState(Arc<Host>);

impl std::ops::Deref for HostState {
    type Target = Host;

    fn deref(&self) -> &Host {
        &self.0
    }
}

/// What [`HostState`] holds.
pub struct Host {
    pub ledger: Ledger,
    pub users: Collection<UserDoc>,
    pub limiter: RateLimiter,
    /// Personal API keys, for the public API.
    pub api_keys: ApiKeys,
    pub prices: PriceHub,
    /// Tells each logged-in browser when its wallet's money moved.
    pub events: AccountEvents,
    pub services: Services,
    pub config: HostConfig,
    /// Bounds how many password hashes run at once: each takes ~19 MiB and a core for a while,
    /// so an unbounded burst of log-ins would exhaust memory instead of queueing.
    pub hashing: Arc<Semaphore>,
    /// A hash of no one's password, checked against when an address is unknown so that a
    /// failed log-in takes as long whether or not the address exists.
    pub decoy_hash: Arc<str>,
}

impl HostState {
    /// Connects the parts and prepares the database (indexes, genesis). Idempotent.
    pub async fn init(
        client: Client,
        database: &Database,
        config: HostConfig,
        services: Services,
    ) -> Result<HostState, StartError> {
        let ledger = Ledger::new(client, database);
        ledger.init().await.map_err(StartError::setup)?;
        if config.watch_orphans {
            ledger.watch_orphans("host");
        }
        let limiter = RateLimiter::new(database, config.limits.clone());
        limiter.init().await?;
        let api_keys = ApiKeys::new(database, config.api_requests_per_minute);
        api_keys.init().await?;
        let prices = PriceHub::new(database, config.prices.clone());
        let events = AccountEvents::new(database, EVENTS_POLL);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(HostState(Arc::new(Host {
            ledger,
            users: database.collection(USERS),
            limiter,
            api_keys,
            prices,
            events,
            services,
            config,
            hashing: Arc::new(Semaphore::new(cores * 2)),
            decoy_hash: accounts::decoy_hash().into(),
        })))
    }
}
