use std::process::ExitCode;

use clap::Parser;
use solstice_swap::{Application, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let app = match Application::build(Config::parse()).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("the swap service could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("swap service listening on http://{}", app.local_addr());
    match app.run_until_stopped(solstice_service::http::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("the swap service stopped with an error: {error}");
            ExitCode::FAILURE
        }
    }
}
