//! The host fanning out to the portfolio service over real HTTP.

use reqwest::StatusCode;
use serde_json::Value;
use server::{Application, Config};

const PASSWORD: &str = "correct horse battery";

async fn start_portfolio(database: &str) -> String {
    let config = solstice_portfolio::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    let app = solstice_portfolio::Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn start_host(database: &str, portfolio_url: String) -> String {
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    config.portfolio_url = portfolio_url;
    config.service_timeout_ms = 1_000;
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn call(client: &reqwest::Client, base: &str, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client.post(format!("{base}/api/{function}")).form(form).send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_logged_in_user_gets_their_portfolio_from_the_service() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    let host = start_host(database.name(), start_portfolio(database.name()).await).await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();

    let (status, body) = call(&browser, &host, "my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Please log in to continue.");

    let form = [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "42.5")];
    let (status, signed_up) = call(&browser, &host, "sign_up", &form).await;
    assert_eq!(status, StatusCode::OK);
    let (status, portfolio) = call(&browser, &host, "my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::OK, "{portfolio}");
    assert_eq!(portfolio["wallet"], signed_up["address"]);
    let holdings = portfolio["holdings"].as_array().unwrap();
    assert_eq!(holdings.len(), 1);
    assert_eq!(holdings[0]["token"], "SOL");
    assert_eq!(holdings[0]["amount"], 42_500_000_000u64);
    assert_eq!(holdings[0]["share_bps"], 10_000);
    assert_eq!(portfolio["total_value"], holdings[0]["value"]);
}

#[tokio::test]
async fn an_unreachable_portfolio_service_gives_a_clear_temporary_error() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let host = start_host(database.name(), dead).await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let form = [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")];
    assert_eq!(call(&browser, &host, "sign_up", &form).await.0, StatusCode::OK);
    let (status, body) = call(&browser, &host, "my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(body["message"], "The service is temporarily unavailable. Please try again in a moment.");
}
