//! Starts the swap service; the library says what it does.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    solstice_kit::start::main("swap", || solstice_swap::build(solstice_swap::Config::parse())).await
}
