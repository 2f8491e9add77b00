//! Starts the transfer service; the library says what it does.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    solstice_kit::start::main("transfer", || solstice_transfer::build(solstice_transfer::Config::parse())).await
}
