use std::process::ExitCode;

use clap::Parser;
use server::{Application, Config};
use solstice_kit::http::shutdown_signal;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Stack of each runtime thread. Rendering a page on the server walks its whole view tree; in
/// a debug build (the tests') the deepest pages (the stake page, logged in) need more than
/// Tokio's default of 2 MiB.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
        .expect("the Tokio runtime starts")
        .block_on(run())
}

async fn run() -> ExitCode {
    // `solstice public-key`: what the services must trust (SOLSTICE_TRUSTED_CALLERS) for the
    // host whose SOLSTICE_SIGNING_KEY is set.
    if std::env::args().nth(1).as_deref() == Some("public-key") {
        let seed = std::env::var("SOLSTICE_SIGNING_KEY").unwrap_or_default();
        return match solstice_kit::auth::SigningKey::from_hex("host", &seed) {
            Ok(key) => {
                println!("{}", key.trusted_entry());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("SOLSTICE_SIGNING_KEY: {error}");
                ExitCode::FAILURE
            }
        };
    }
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
