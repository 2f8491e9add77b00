//! The host's configuration: every setting is a flag and an environment variable.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use app::backend::{HostConfig, prices::PriceConfig, rate_limit::Limits, services::ServiceUrls};
use clap::Parser;
use solstice_kit::{
    serve::ConnectionLimits,
    start::{Secret, TEST_SIGNING_KEY},
};
use solstice_types::{Amount, Token};

/// Solstice host: server-side rendering, sessions and server functions.
#[derive(Debug, Clone, Parser)]
#[command(name = "solstice", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SOLSTICE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// MongoDB connection string (a replica set: the ledger needs transactions). Never logged.
    #[arg(long, env = "MONGODB_URI", default_value = "mongodb://127.0.0.1:27017", hide_env_values = true)]
    pub mongodb_uri: Secret<String>,

    /// Database name.
    #[arg(long, env = "SOLSTICE_DATABASE", default_value = "solstice")]
    pub database: String,

    /// Folder with the built site: `pkg/` (WASM, JS, CSS) and static files.
    #[arg(long, env = "SOLSTICE_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Mark the session cookie `Secure` (set this whenever the site is served over HTTPS).
    #[arg(long, env = "SOLSTICE_COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,

    /// Log a session out after this many minutes without a request.
    #[arg(long, env = "SOLSTICE_SESSION_IDLE_MINUTES", default_value_t = 12 * 60)]
    pub session_idle_minutes: u32,

    /// Serve a session read from the database from memory for up to this many seconds (0: read
    /// it on every request). Only while the host follows the sessions' change stream, which
    /// evicts a session from every host's memory as soon as it changes (a log-out, say).
    #[arg(long, env = "SOLSTICE_SESSION_CACHE_SECONDS", default_value_t = crate::session_store::DEFAULT_CACHE_SECONDS)]
    pub session_cache_seconds: u32,

    /// End the database sessions of a host replica that died in the middle of a ledger
    /// transaction (a sign-up's), so that what it locked (the faucet) is free again within
    /// seconds instead of the database's 60 s. Costs each replica a small write twice a second.
    #[arg(long, env = "SOLSTICE_WATCH_ORPHANS", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_orphans: bool,

    /// Log a session out this many hours after log-in, however active it is.
    #[arg(long, env = "SOLSTICE_SESSION_MAX_HOURS", default_value_t = 24)]
    pub session_max_hours: u32,

    /// Rows the activity's CSV export asks the portfolio service for at a time (and holds in
    /// memory at most), 1 to 1,000.
    #[arg(long, env = "SOLSTICE_EXPORT_PAGE_ROWS", default_value_t = 1_000)]
    pub export_page_rows: u32,

    /// Requests each personal API key may make per minute on the public API (`/api/v1`).
    #[arg(long, env = "SOLSTICE_API_REQUESTS_PER_MINUTE", default_value_t = 300)]
    pub api_requests_per_minute: u32,

    /// Number of reverse proxies in front of the host (an Ingress counts one) whose
    /// `X-Forwarded-For` entries are trusted. 0 uses the connection's address.
    #[arg(long, env = "SOLSTICE_TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,

    /// Largest initial SOL balance a new account may choose, in whole SOL.
    #[arg(long, env = "SOLSTICE_MAX_INITIAL_SOL", default_value_t = 1_000)]
    pub max_initial_sol: u64,

    /// Failed log-ins allowed per (wallet address, client) per window; past them that client
    /// is refused for that address only.
    #[arg(long, env = "SOLSTICE_LOGIN_FAILURES_PER_ADDRESS_AND_CLIENT", default_value_t = 5)]
    pub login_failures_per_address_and_client: u32,

    /// Failed log-ins per wallet address per window, from all clients, after which log-ins to it
    /// from networks its owner never logged in from are slowed down (never refused outright).
    #[arg(long, env = "SOLSTICE_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub login_failures_per_address: u32,

    /// Once slowed down, an address takes one log-in attempt per this many seconds from
    /// networks its owner never logged in from.
    #[arg(long, env = "SOLSTICE_LOGIN_SLOWED_SECONDS", default_value_t = 15)]
    pub login_slowed_seconds: u64,

    /// Failed log-ins allowed per client IP per window.
    #[arg(long, env = "SOLSTICE_LOGIN_FAILURES_PER_CLIENT", default_value_t = 30)]
    pub login_failures_per_client: u32,

    /// Sign-ups allowed per client IP per window.
    #[arg(long, env = "SOLSTICE_SIGNUPS_PER_CLIENT", default_value_t = 10)]
    pub signups_per_client: u32,

    /// SOL the faucet gives new wallets per client network per day, in whole SOL.
    #[arg(long, env = "SOLSTICE_FAUCET_SOL_PER_CLIENT_PER_DAY", default_value_t = 2_000)]
    pub faucet_sol_per_client_per_day: u64,

    /// SOL the faucet gives new wallets per day in all, in whole SOL.
    #[arg(long, env = "SOLSTICE_FAUCET_SOL_PER_DAY", default_value_t = 1_000_000)]
    pub faucet_sol_per_day: u64,

    /// Length of the rate-limit window, in seconds.
    #[arg(long, env = "SOLSTICE_RATE_LIMIT_WINDOW_SECONDS", default_value_t = 900)]
    pub rate_limit_window_seconds: u64,

    /// Prices older than this many seconds are shown as stale.
    #[arg(long, env = "SOLSTICE_PRICE_FRESHNESS_SECONDS", default_value_t = 10)]
    pub price_freshness_seconds: u64,

    /// Base URL of the portfolio service; several, separated by commas, to spread calls over
    /// replicas the host addresses one by one (a Kubernetes Service needs only one).
    #[arg(long, env = "SOLSTICE_PORTFOLIO_URL", default_value = "http://127.0.0.1:3101")]
    pub portfolio_url: String,

    /// Base URL of the transfer service; several, separated by commas, to spread calls over
    /// replicas the host addresses one by one (a Kubernetes Service needs only one).
    #[arg(long, env = "SOLSTICE_TRANSFER_URL", default_value = "http://127.0.0.1:3102")]
    pub transfer_url: String,

    /// Base URL of the swap service; several, separated by commas, to spread calls over
    /// replicas the host addresses one by one (a Kubernetes Service needs only one).
    #[arg(long, env = "SOLSTICE_SWAP_URL", default_value = "http://127.0.0.1:3103")]
    pub swap_url: String,

    /// Base URL of the stake service; several, separated by commas, to spread calls over
    /// replicas the host addresses one by one (a Kubernetes Service needs only one).
    #[arg(long, env = "SOLSTICE_STAKE_URL", default_value = "http://127.0.0.1:3104")]
    pub stake_url: String,

    /// The host's private key for signing its requests to the services: 64 hex digits (32
    /// random bytes, `openssl rand -hex 32`). The services trust its public half
    /// (`SOLSTICE_TRUSTED_CALLERS`). Never logged.
    #[arg(long, env = "SOLSTICE_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Secret<String>,

    /// How long a call to a service may take before the user gets an "unavailable" answer.
    #[arg(long, env = "SOLSTICE_SERVICE_TIMEOUT_MS", default_value_t = 3_000)]
    pub service_timeout_ms: u64,

    /// Seconds the host keeps serving after SIGTERM while reporting not ready, so that load
    /// balancers stop routing to it before it stops accepting (a few seconds in Kubernetes).
    #[arg(long, env = "SOLSTICE_SHUTDOWN_DELAY_SECONDS", default_value_t = 0)]
    pub shutdown_delay_seconds: u64,

    #[command(flatten)]
    pub limits: ConnectionLimits,

    /// Live price sockets one client (an IPv4 address or IPv6 /64) may hold open.
    #[arg(long, env = "SOLSTICE_WS_PER_CLIENT", default_value_t = 16)]
    pub ws_per_client: u32,

    /// Live price sockets the host holds open in all.
    #[arg(long, env = "SOLSTICE_WS_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub ws_max_connections: u32,

    /// Origins besides the host's own whose pages may open live price sockets
    /// (`https://wallet.example.com`), comma-separated. Empty: only the host's own pages.
    #[arg(long, env = "SOLSTICE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "SOLSTICE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl Config {
    pub fn host(&self) -> Result<HostConfig, String> {
        let max_initial_sol = Amount::from_whole(self.max_initial_sol, Token::Sol.decimals())
            .ok_or_else(|| "SOLSTICE_MAX_INITIAL_SOL is too large".to_owned())?;
        Ok(HostConfig {
            max_initial_sol,
            limits: Limits {
                login_per_address_and_client: self.login_failures_per_address_and_client,
                login_per_address: self.login_failures_per_address,
                login_slowed_interval: Duration::from_secs(self.login_slowed_seconds.max(1)),
                login_per_client: self.login_failures_per_client,
                signup_per_client: self.signups_per_client,
                faucet_per_client_per_day: Amount::from_whole(
                    self.faucet_sol_per_client_per_day,
                    Token::Sol.decimals(),
                )
                .ok_or_else(|| "SOLSTICE_FAUCET_SOL_PER_CLIENT_PER_DAY is too large".to_owned())?,
                faucet_per_day: Amount::from_whole(self.faucet_sol_per_day, Token::Sol.decimals())
                    .ok_or_else(|| "SOLSTICE_FAUCET_SOL_PER_DAY is too large".to_owned())?,
                window: Duration::from_secs(self.rate_limit_window_seconds),
            },
            session_lifetime: Duration::from_secs(u64::from(self.session_max_hours.max(1)) * 3600),
            export_page_rows: self.export_page_rows.clamp(1, 1_000),
            api_requests_per_minute: self.api_requests_per_minute.max(1),
            watch_orphans: self.watch_orphans,
            prices: PriceConfig {
                freshness: Duration::from_secs(self.price_freshness_seconds.max(1)),
                ..PriceConfig::default()
            },
        })
    }

    /// Where the services run.
    pub fn service_urls(&self) -> ServiceUrls {
        ServiceUrls {
            portfolio: self.portfolio_url.clone(),
            transfer: self.transfer_url.clone(),
            swap: self.swap_url.clone(),
            stake: self.stake_url.clone(),
        }
    }

    /// The defaults with a given database, for tests.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        let mut config = Config::parse_from(["solstice", "--signing-key", TEST_SIGNING_KEY]);
        config.addr = "127.0.0.1:0".parse().expect("valid address");
        config.mongodb_uri = Secret::new(mongodb_uri);
        config.database = database;
        // Each test host would follow a change stream of its own, and a test process runs
        // dozens of hosts: on the test database every write wakes every stream. The tests of
        // the cache turn it on.
        config.session_cache_seconds = 0;
        // Likewise: dozens of hosts that never exit, each beating twice a second.
        config.watch_orphans = false;
        config
    }
}
