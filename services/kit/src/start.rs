//! Starting a service: connecting to MongoDB and reporting why a start failed.

use std::time::Duration;

use mongodb::{Client, Database, options::ClientOptions};

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
}

impl Service {
    /// Binds `addr` (port 0 picks a free one) for `router`.
    pub async fn bind(addr: std::net::SocketAddr, router: axum::Router) -> Result<Service, StartError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| StartError(format!("cannot listen on {addr}: {error}")))?;
        Ok(Service { listener, router })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::http::serve(self.listener, self.router, shutdown).await
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
}

impl CommonConfig {
    /// `database` on `mongodb_uri`, with the secret the tests' host uses.
    pub fn for_tests(mongodb_uri: String, database: String) -> CommonConfig {
        CommonConfig { mongodb_uri, database, internal_secret: "test-secret-test-secret-test-secret".to_owned() }
    }

    /// The internal secret, checked, and a connection to the database.
    pub async fn connect(&self, app_name: &str) -> Result<(crate::auth::ServiceSecret, Client, Database), StartError> {
        let secret = crate::auth::ServiceSecret::new(&self.internal_secret).map_err(StartError)?;
        let (client, database) = connect(&self.mongodb_uri, &self.database, app_name).await?;
        Ok((secret, client, database))
    }
}
