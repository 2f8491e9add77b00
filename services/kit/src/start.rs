//! Starting a service: its settings, connecting to MongoDB, binding its port, and saying why a
//! start failed. The host starts the same way.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use mongodb::{Client, Database, options::ClientOptions};
use tokio::net::TcpListener;

use crate::{
    auth::{SigningKey, Verifier},
    error::error_chain,
    lifecycle::{Lifecycle, readiness_gate},
    serve::{ConnectionLimits, serve},
};

/// Why a process could not start. Never carries the database URI (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("could not reach MongoDB (check MONGODB_URI and that the server is a replica set): {0}")]
    Database(String),
    #[error("preparing the database: {0}")]
    Setup(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

impl From<mongodb::error::Error> for StartError {
    /// A failure while preparing the data (an index, a first write). The kind only: the full
    /// error can quote the connection string.
    fn from(error: mongodb::error::Error) -> StartError {
        StartError::Setup(error.kind.to_string())
    }
}

impl StartError {
    /// A failure while preparing the data (indexes, the ledger's genesis), with its causes.
    pub fn setup(error: impl std::error::Error) -> StartError {
        StartError::Setup(error_chain(&error))
    }
}

/// A setting that must never be printed: a password, a secret, a connection string that may
/// hold credentials. Its `Debug` says `<redacted>`; [`Secret::expose`] is the only way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret<String> {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Secret<String>, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

/// The signing key (seed) of every test's host (see the `for_tests` constructors); the tests'
/// services trust its public half.
pub const TEST_SIGNING_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// The tests' host's signing key.
pub fn test_signing_key() -> SigningKey {
    SigningKey::from_hex("host", TEST_SIGNING_KEY).expect("the test key is valid")
}

/// A client for `uri` and its database `name`, identifying itself to the server as `app_name`.
pub async fn connect(uri: &Secret<String>, name: &str, app_name: &str) -> Result<(Client, Database), StartError> {
    let mut options = ClientOptions::parse(uri.expose())
        .await
        .map_err(|error| StartError::Config(format!("invalid MONGODB_URI: {}", error.kind)))?;
    options.app_name = Some(app_name.to_owned());
    options.server_selection_timeout = Some(Duration::from_secs(10));
    let client = Client::with_options(options).map_err(|error| StartError::Database(error.kind.to_string()))?;
    let database = client.database(name);
    Ok((client, database))
}

/// A listening socket on `addr` (port 0 picks a free one).
pub async fn listen(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}

/// A service bound to its port, ready to serve.
pub struct Service {
    listener: TcpListener,
    router: axum::Router,
    lifecycle: Lifecycle,
    shutdown_delay: Duration,
    limits: ConnectionLimits,
}

impl Service {
    /// Binds `addr` (port 0 picks a free one) for `router`, with no shutdown delay.
    pub async fn bind(addr: SocketAddr, router: axum::Router) -> Result<Service, StartError> {
        let listener = listen(addr).await?;
        Ok(Service {
            listener,
            router,
            lifecycle: Lifecycle::new(),
            shutdown_delay: Duration::ZERO,
            limits: ConnectionLimits::default(),
        })
    }

    /// The service's time and connection limits (defaults until set).
    pub fn set_limits(&mut self, limits: ConnectionLimits) {
        self.limits = limits;
    }

    /// How long a stopping service keeps serving while reporting not ready.
    pub fn set_shutdown_delay(&mut self, delay: Duration) {
        self.shutdown_delay = delay;
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The service's stop state, for background work that must stop when it drains.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.clone()
    }

    /// Serves until `shutdown` completes; then reports not ready for the shutdown delay while
    /// still serving, stops accepting connections and finishes the requests in flight (see
    /// [`crate::lifecycle`]).
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Service { listener, router, lifecycle, shutdown_delay, limits } = self;
        let router = router.layer(axum::middleware::from_fn_with_state(lifecycle.clone(), readiness_gate));
        serve(listener, router, &limits, lifecycle.shutdown_after(shutdown, shutdown_delay)).await
    }
}

/// Everything a service's `main` does: logs to stderr (filtered by `RUST_LOG`, default
/// `info`), builds the service, serves it until SIGTERM or Ctrl-C, and turns the outcome into
/// the process's exit status.
pub async fn main<F>(name: &str, build: impl FnOnce() -> F) -> std::process::ExitCode
where
    F: std::future::Future<Output = Result<Service, StartError>>,
{
    use std::process::ExitCode;
    init_logging();
    let service = match build().await {
        Ok(service) => service,
        Err(error) => {
            tracing::error!("the {name} service could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("{name} service listening on http://{}", service.local_addr());
    match service.run_until_stopped(crate::http::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("the {name} service stopped with an error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
}

/// The settings every service shares: where the data is, who may call it, how it stops.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonConfig {
    /// MongoDB connection string (a replica set: the ledger needs transactions). Never logged.
    #[arg(long, env = "MONGODB_URI", default_value = "mongodb://127.0.0.1:27017", hide_env_values = true)]
    pub mongodb_uri: Secret<String>,
    /// Database name.
    #[arg(long, env = "SOLSTICE_DATABASE", default_value = "solstice")]
    pub database: String,
    /// The callers whose signed requests this service accepts, as `name=public key` (64 hex
    /// digits), comma-separated: the host's is printed by `scripts/run`, and is public.
    #[arg(long, env = "SOLSTICE_TRUSTED_CALLERS")]
    pub trusted_callers: String,
    /// Seconds a stopping process keeps serving while reporting not ready, so that load
    /// balancers stop routing to it before it stops accepting (a few seconds in Kubernetes).
    #[arg(long, env = "SOLSTICE_SHUTDOWN_DELAY_SECONDS", default_value_t = 0)]
    pub shutdown_delay_seconds: u64,
    /// End the database sessions of a replica that died in the middle of a ledger transaction,
    /// so that what it locked is free again within seconds instead of the database's 60 s (see
    /// `solstice_ledger`'s orphans). Costs each replica a small write twice a second.
    #[arg(long, env = "SOLSTICE_WATCH_ORPHANS", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_orphans: bool,
    #[command(flatten)]
    pub limits: ConnectionLimits,
}

impl CommonConfig {
    /// `database` on `mongodb_uri`, trusting the tests' host.
    pub fn for_tests(mongodb_uri: String, database: String) -> CommonConfig {
        CommonConfig {
            mongodb_uri: Secret::new(mongodb_uri),
            database,
            trusted_callers: test_signing_key().trusted_entry(),
            shutdown_delay_seconds: 0,
            limits: ConnectionLimits::default(),
            // A test process runs dozens of services and hosts that never exit, each beating
            // twice a second on the one test database; the ledger's own test covers the watch.
            watch_orphans: false,
        }
    }

    /// Binds `addr` for `router`, stopping with the configured shutdown delay.
    pub async fn bind(&self, addr: SocketAddr, router: axum::Router) -> Result<Service, StartError> {
        let mut service = Service::bind(addr, router).await?;
        service.shutdown_delay = Duration::from_secs(self.shutdown_delay_seconds);
        service.limits = self.limits.clone();
        Ok(service)
    }

    /// A connection to the database, and the checker of the trusted callers' signatures.
    pub async fn connect(&self, app_name: &str) -> Result<(Verifier, Client, Database), StartError> {
        let (client, database) = connect(&self.mongodb_uri, &self.database, app_name).await?;
        let verifier = Verifier::new(&self.trusted_callers, &database)?;
        Ok((verifier, client, database))
    }
}
