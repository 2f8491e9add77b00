//! The market recorder: the only writer of prices.
//!
//! It takes prices from public sources (Kraken's and Coinbase's public websocket tickers, no
//! key needed) or, for offline use, from the simulated market; combines them once a second
//! into a tick (each token's median of the fresh prices, suspect when they disagree); and
//! writes the tick and the closed 1-minute, 5-minute and hourly candles to MongoDB, where the
//! host, the swap service and the portfolio service read them. Several replicas may run: one
//! holds the lease (see [`lease`]) and records, the others wait to take over.

pub mod combine;
pub mod recorder;
mod simulated;
pub mod sources;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, routing::get};
use clap::{Parser, ValueEnum};
use solstice_kit::{
    http::with_operations,
    lease::Lease,
    serve::ConnectionLimits,
    start::{Secret, Service, StartError, connect},
};
use solstice_market::store::MarketStore;
use solstice_types::Token;

use crate::{
    combine::Rules,
    recorder::{Market, Recorder, Status},
    sources::{Board, Coinbase, Kraken, PriceSource, coinbase, kraken, now_ms},
};

/// Which market to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MarketChoice {
    /// The real sources (production).
    Live,
    /// The simulated market (offline use and tests), labelled as such in the UI.
    Simulated,
    /// The real sources if they answer at start-up, else the simulated market: chosen once.
    Auto,
}

/// The real sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceName {
    Kraken,
    Coinbase,
}

/// Solstice market recorder.
#[derive(Clone, Parser)]
#[command(name = "solstice-recorder", version)]
pub struct Config {
    /// Address and port of the health probes, metrics and status (port 0 picks a free one).
    #[arg(long, env = "RECORDER_ADDR", default_value = "127.0.0.1:3105")]
    pub addr: SocketAddr,
    /// MongoDB connection string. Never logged.
    #[arg(long, env = "MONGODB_URI", default_value = "mongodb://127.0.0.1:27017", hide_env_values = true)]
    pub mongodb_uri: Secret<String>,
    /// Database name.
    #[arg(long, env = "SOLSTICE_DATABASE", default_value = "solstice")]
    pub database: String,
    /// Where prices come from.
    #[arg(long, env = "SOLSTICE_MARKET", value_enum, default_value = "live")]
    pub market: MarketChoice,
    /// The real sources to combine, comma-separated.
    #[arg(long, env = "SOLSTICE_PRICE_SOURCES", value_enum, value_delimiter = ',', default_value = "kraken,coinbase")]
    pub sources: Vec<SourceName>,
    /// Seed of the simulated market (a secret). Unset: one is drawn at random once per
    /// deployment and kept in the recorder's own collection.
    #[arg(long, env = "SOLSTICE_SIMULATION_SEED", hide_env_values = true)]
    pub simulation_seed: Option<Secret<String>>,
    /// A source's price is used only this many seconds after the source last vouched for it.
    #[arg(long, env = "SOLSTICE_PRICE_FRESHNESS_SECONDS", default_value_t = 10)]
    pub freshness_seconds: u64,
    /// Sources further apart than this, in basis points, make a token suspect (200 = 2 %).
    #[arg(long, env = "SOLSTICE_PRICE_DISAGREEMENT_BPS", default_value_t = 200)]
    pub disagreement_bps: u32,
    /// Length of the recorder's lease, in seconds: how long a dead leader goes unnoticed.
    #[arg(long, env = "RECORDER_LEASE_SECONDS", default_value_t = 3)]
    pub lease_seconds: u64,
    /// Milliseconds between ticks: one a second in production; tests go faster.
    #[arg(long, env = "RECORDER_TICK_MS", default_value_t = 1_000, hide = true)]
    pub tick_ms: u64,
    /// Fill an empty store's charts from a source's history at start-up.
    #[arg(long, env = "SOLSTICE_PRICE_BACKFILL", default_value_t = true, action = clap::ArgAction::Set)]
    pub backfill: bool,
    #[arg(long, env = "KRAKEN_WS_URL", default_value = kraken::WS_URL)]
    pub kraken_ws_url: String,
    #[arg(long, env = "KRAKEN_REST_URL", default_value = kraken::REST_URL)]
    pub kraken_rest_url: String,
    #[arg(long, env = "COINBASE_WS_URL", default_value = coinbase::WS_URL)]
    pub coinbase_ws_url: String,
    /// Seconds a stopping recorder keeps answering probes while reporting not ready.
    #[arg(long, env = "SOLSTICE_SHUTDOWN_DELAY_SECONDS", default_value_t = 0)]
    pub shutdown_delay_seconds: u64,
    #[command(flatten)]
    pub limits: ConnectionLimits,
}

impl Config {
    /// A recorder of the simulated market on a free port over `database`.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        let mut config = Config::parse_from(["solstice-recorder", "--addr", "127.0.0.1:0", "--market", "simulated"]);
        config.mongodb_uri = Secret::new(mongodb_uri);
        config.database = database;
        config.simulation_seed = Some(Secret::new(rand::random::<u64>().to_string()));
        config.backfill = false;
        config
    }

    fn rules(&self) -> Rules {
        Rules { freshness: Duration::from_secs(self.freshness_seconds.max(1)), disagreement_bps: self.disagreement_bps }
    }

    fn live_sources(&self) -> Vec<Arc<dyn PriceSource>> {
        self.sources
            .iter()
            .map(|source| -> Arc<dyn PriceSource> {
                match source {
                    SourceName::Kraken => Arc::new(Kraken::new(&self.kraken_ws_url, &self.kraken_rest_url)),
                    SourceName::Coinbase => Arc::new(Coinbase::new(&self.coinbase_ws_url)),
                }
            })
            .collect()
    }
}

/// How long `auto` waits for the real sources at start-up.
const PROBE: Duration = Duration::from_secs(8);

/// Whether any of `sources` delivers a price within [`PROBE`].
async fn sources_answer(sources: &[Arc<dyn PriceSource>]) -> bool {
    let board = Board::default();
    let tasks: Vec<_> = sources
        .iter()
        .map(|source| {
            let (source, board) = (source.clone(), board.clone());
            tokio::spawn(async move { source.run(board).await })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + PROBE;
    let mut answered = false;
    while !answered && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        answered = Token::ALL.iter().any(|token| !board.fresh(*token, now_ms(), PROBE).is_empty());
    }
    for task in tasks {
        task.abort();
    }
    answered
}

/// The recorder, ready to run: its probes' service and the recording loop.
pub struct Started {
    pub service: Service,
    pub recorder: Recorder,
    pub status: Arc<Mutex<Status>>,
}

/// Connects, prepares the store and binds the probes' port; [`run`] records.
pub async fn build(config: Config) -> Result<Started, StartError> {
    let seed = match &config.simulation_seed {
        Some(seed) => Some(seed.expose().trim().parse::<u64>().map_err(|_| {
            StartError::Config("SOLSTICE_SIMULATION_SEED must be a whole number from 0 to 18446744073709551615".into())
        })?),
        None => None,
    };
    if config.sources.is_empty() && config.market != MarketChoice::Simulated {
        return Err(StartError::Config("SOLSTICE_PRICE_SOURCES names no source".into()));
    }
    let (_client, database) = connect(&config.mongodb_uri, &config.database, "solstice-recorder").await?;
    MarketStore::new(&database).init().await?;
    let market = match config.market {
        MarketChoice::Live => Market::Live(config.live_sources()),
        MarketChoice::Simulated => Market::Simulated(seed),
        MarketChoice::Auto => {
            let sources = config.live_sources();
            if sources_answer(&sources).await {
                tracing::info!("the price sources answer: recording the live market");
                Market::Live(sources)
            } else {
                tracing::warn!("no price source answers: recording the simulated market (labelled so in the UI)");
                Market::Simulated(seed)
            }
        }
    };
    let holder = Lease::holder_name("recorder");
    let lease = Lease::new(
        &database,
        recorder::RECORDER,
        recorder::LEASE,
        holder,
        Duration::from_secs(config.lease_seconds.max(2)),
    );
    let mut recorder = Recorder::new(&database, lease, market, config.rules());
    recorder.backfill = config.backfill;
    recorder.tick_interval = Duration::from_millis(config.tick_ms.max(10));
    let status = recorder.status();
    let shown = status.clone();
    let api = Router::new()
        .route("/v1/status", get(move || std::future::ready(Json(shown.lock().expect("status lock").clone()))));
    let router = with_operations(api, "recorder", database, openapi());
    let mut service = Service::bind(config.addr, router).await?;
    service.set_shutdown_delay(Duration::from_secs(config.shutdown_delay_seconds));
    service.set_limits(config.limits.clone());
    Ok(Started { service, recorder, status })
}

/// Records and serves the probes until `shutdown` completes; then gives up the lease at once
/// (another replica takes over within a second) and stops.
pub async fn run(
    started: Started,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Started { service, recorder, .. } = started;
    let lifecycle = service.lifecycle();
    // One task for both: if it is dropped (the process dies), the recording stops with it.
    let ((), served) = tokio::join!(recorder.run(lifecycle.draining()), service.run_until_stopped(shutdown));
    served
}

fn openapi() -> serde_json::Value {
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Solstice market recorder",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The recorder has no API besides its probes: it writes prices to the database. Its status tells whether this replica leads, in which lease term, the last tick it wrote and when each source last sent a price."
        },
        "paths": {
            "/v1/status": {
                "get": {
                    "operationId": "status",
                    "summary": "What this replica is doing",
                    "responses": { "200": { "description": "The replica's status", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        }
    })
}
