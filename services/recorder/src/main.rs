//! Starts the market recorder; the library says what it does.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    solstice_kit::start::init_logging();
    let started = match solstice_recorder::build(solstice_recorder::Config::parse()).await {
        Ok(started) => started,
        Err(error) => {
            tracing::error!("the market recorder could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("market recorder's probes on http://{}", started.service.local_addr());
    match solstice_recorder::run(started, solstice_kit::http::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("the market recorder stopped with an error: {error}");
            ExitCode::FAILURE
        }
    }
}
