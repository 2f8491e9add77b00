//! Starting a service: connecting to MongoDB and reporting why a start failed.

use std::time::Duration;

use mongodb::{Client, Database, options::ClientOptions};

use crate::lifecycle::{Lifecycle, readiness_gate};

/// Why a service could not start. Never carries the database URI (it may hold a password).
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A client for `uri` and its database `name`, identifying itself to the server as `app_name`.
pub async fn connect(uri: &str, name: &str, app_name: &str) -> Result<(Client, Database), StartError> {
    let mut options =
        ClientOptions::parse(uri).await.map_err(|e| StartError(format!("invalid MONGODB_URI: {}", e.kind)))?;
    options.app_name = Some(app_name.to_owned());
    options.server_selection_timeout = Some(Duration::from_secs(10));
    let client = Client::with_options(options).map_err(|e| StartError(format!("MongoDB client: {}", e.kind)))?;
    let database = client.database(name);
    Ok((client, database))
}

/// A service bound to its port, ready to serve.
pub struct Service {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    lifecycle: Lifecycle,
    shutdown_delay: Duration,
}

impl Service {
    /// Binds `addr` (port 0 picks a free one) for `router`, with no shutdown delay.
    pub async fn bind(addr: std::net::SocketAddr, router: axum::Router) -> Result<Service, StartError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| StartError(format!("cannot listen on {addr}: {error}")))?;
        Ok(Service { listener, router, lifecycle: Lifecycle::new(), shutdown_delay: Duration::ZERO })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
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
        let Service { listener, router, lifecycle, shutdown_delay } = self;
        let router = router.layer(axum::middleware::from_fn_with_state(lifecycle.clone(), readiness_gate));
        axum::serve(listener, router).with_graceful_shutdown(lifecycle.shutdown_after(shutdown, shutdown_delay)).await
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
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

/// The settings every service shares: where the data is and the secret of internal calls.
#[derive(Clone, clap::Args)]
pub struct CommonConfig {
    /// MongoDB connection string (a replica set: the ledger needs transactions). Never logged.
    #[arg(long, env = "MONGODB_URI", default_value = "mongodb://127.0.0.1:27017", hide_env_values = true)]
    pub mongodb_uri: String,
    /// Database name.
    #[arg(long, env = "SOLSTICE_DATABASE", default_value = "solstice")]
    pub database: String,
    /// Secret shared with the host to sign internal requests (32+ characters). Never logged.
    #[arg(long, env = "SOLSTICE_INTERNAL_SECRET", hide_env_values = true)]
    pub internal_secret: String,
    /// Seconds a stopping process keeps serving while reporting not ready, so that load
    /// balancers stop routing to it before it stops accepting (a few seconds in Kubernetes).
    #[arg(long, env = "SOLSTICE_SHUTDOWN_DELAY_SECONDS", default_value_t = 0)]
    pub shutdown_delay_seconds: u64,
}

impl CommonConfig {
    /// `database` on `mongodb_uri`, with the secret the tests' host uses.
    pub fn for_tests(mongodb_uri: String, database: String) -> CommonConfig {
        CommonConfig {
            mongodb_uri,
            database,
            internal_secret: "test-secret-test-secret-test-secret".to_owned(),
            shutdown_delay_seconds: 0,
        }
    }

    /// Binds `addr` for `router`, stopping with the configured shutdown delay.
    pub async fn bind(&self, addr: std::net::SocketAddr, router: axum::Router) -> Result<Service, StartError> {
        let mut service = Service::bind(addr, router).await?;
        service.shutdown_delay = Duration::from_secs(self.shutdown_delay_seconds);
        Ok(service)
    }

    /// The internal secret, checked, and a connection to the database.
    pub async fn connect(&self, app_name: &str) -> Result<(crate::auth::ServiceSecret, Client, Database), StartError> {
        let secret = crate::auth::ServiceSecret::new(&self.internal_secret).map_err(StartError)?;
        let (client, database) = connect(&self.mongodb_uri, &self.database, app_name).await?;
        Ok((secret, client, database))
    }
}
