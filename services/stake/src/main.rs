//! Starts the stake service; the library says what it does.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    solstice_kit::start::main("stake", || solstice_stake::build(solstice_stake::Config::parse())).await
}
