//! Starts the portfolio service; the library says what it does.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    solstice_kit::start::main("portfolio", || solstice_portfolio::build(solstice_portfolio::Config::parse())).await
}
