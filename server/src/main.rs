use std::process::ExitCode;

use clap::Parser;
use server::{Application, Config};
use solstice_service::http::shutdown_signal;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    if config.log_format == "json" {
        tracing_subscriber::registry().with(filter).with(fmt::layer().json()).init();
    } else {
        tracing_subscriber::registry().with(filter).with(fmt::layer()).init();
    }

    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("Solstice could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("Solstice is running at http://{}", app.local_addr());
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("Solstice stopped with an error: {error}");
            ExitCode::FAILURE
        }
    }
}
