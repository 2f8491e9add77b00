//! The host fanning out to the portfolio, transfer and swap services over real HTTP.

use reqwest::StatusCode;
use serde_json::Value;
use server::{Application, Config};

const PASSWORD: &str = "correct horse battery";

async fn start_portfolio(database: &str) -> String {
    let config = solstice_portfolio::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    let app = solstice_portfolio::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn start_transfer(database: &str) -> String {
    let config = solstice_transfer::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    let app = solstice_transfer::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn start_swap(database: &str) -> String {
    let config = solstice_swap::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    let app = solstice_swap::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn start_stake(database: &str) -> String {
    let config = solstice_stake::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    let app = solstice_stake::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

/// A host with every service, over a fresh database.
async fn platform() -> String {
    let (_client, database) = solstice_testkit::fresh_database().await;
    let name = database.name();
    let (portfolio, transfer, swap) = (start_portfolio(name).await, start_transfer(name).await, start_swap(name).await);
    let stake = start_stake(name).await;
    start_host_with(name, |config| {
        config.portfolio_url = portfolio;
        config.transfer_url = transfer;
        config.swap_url = swap;
        config.stake_url = stake;
    })
    .await
}

async fn start_host(database: &str, portfolio_url: String) -> String {
    start_host_with(database, |config| config.portfolio_url = portfolio_url).await
}

async fn start_host_with(database: &str, configure: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    configure(&mut config);
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

/// A logged-in browser with a new wallet holding `initial_sol`; returns its address too.
async fn user(host: &str, initial_sol: &str) -> (reqwest::Client, String) {
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let form = [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", initial_sol)];
    let (status, signed_up) = call(&browser, host, "sign_up", &form).await;
    assert_eq!(status, StatusCode::OK, "{signed_up}");
    (browser, signed_up["address"].as_str().unwrap().to_owned())
}

async fn sol_balance(browser: &reqwest::Client, host: &str) -> u64 {
    call(browser, host, "current_user", &[]).await.1["sol_balance"].as_u64().unwrap()
}

#[tokio::test]
async fn a_transfer_through_the_host_shows_in_both_histories_and_only_theirs() {
    let host = platform().await;
    let (alice, _) = user(&host, "10").await;
    let (bob, bob_address) = user(&host, "1").await;
    let (eve, _) = user(&host, "1").await;

    let (status, recipient) = call(&alice, &host, "find_recipient", &[("address", &bob_address)]).await;
    assert_eq!((status, recipient["address"].as_str()), (StatusCode::OK, Some(bob_address.as_str())));
    let send = [
        ("to", bob_address.as_str()),
        ("token", "SOL"),
        ("amount", "2.5"),
        ("memo", "for the tickets"),
        ("idempotency_key", "browser-key-0001"),
    ];
    let (status, sent) = call(&alice, &host, "send_transfer", &send).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    // The browser retrying the same submission gets the same transfer, and nothing moves twice.
    let (_, again) = call(&alice, &host, "send_transfer", &send).await;
    assert_eq!(again, sent);
    assert_eq!(sol_balance(&alice, &host).await, 7_500_000_000);
    assert_eq!(sol_balance(&bob, &host).await, 3_500_000_000);

    let reference = sent["reference"].as_str().unwrap();
    let (_, alices) = call(&alice, &host, "my_transfers", &[]).await;
    assert_eq!(alices["transfers"][0]["direction"], "sent");
    let (_, bobs) = call(&bob, &host, "my_transfers", &[]).await;
    assert_eq!(bobs["transfers"][0]["reference"], reference);
    assert_eq!(bobs["transfers"][0]["direction"], "received");
    assert_eq!(bobs["transfers"][0]["memo"], "for the tickets");
    let (status, receipt) = call(&bob, &host, "my_transfer", &[("reference", &reference.to_lowercase())]).await;
    assert_eq!((status, &receipt["reference"]), (StatusCode::OK, &sent["reference"]));

    let (status, error) = call(&eve, &host, "my_transfer", &[("reference", reference)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(call(&eve, &host, "my_transfers", &[]).await.1["transfers"], serde_json::json!([]));
    let (status, error) = call(&eve, &host, "my_transfer", &[("reference", "nonsense")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["message"], "That is not a reference number (they look like TRF-01JDX3Q7ZK-8M2XQF).");
}

#[tokio::test]
async fn transfer_mistakes_come_back_as_clear_errors() {
    let host = platform().await;
    let (alice, alice_address) = user(&host, "1").await;
    let (_, bob_address) = user(&host, "1").await;
    let send = |to: &str, amount: &str| {
        [
            ("to", to.to_owned()),
            ("token", "SOL".to_owned()),
            ("amount", amount.to_owned()),
            ("memo", String::new()),
            ("idempotency_key", format!("k-{:012x}", rand_u64())),
        ]
    };
    for (form, status, message) in [
        (send(&bob_address, "5"), 422, "Your SOL balance is too low for this transfer."),
        (send(&bob_address, "0"), 400, "Enter an amount greater than zero."),
        (send(&alice_address, "0.1"), 400, "You cannot send to your own wallet."),
        (send("n0pe", "0.1"), 400, "A wallet address uses only base58 letters and digits (no 0, O, I or l)."),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, error) = call(&alice, &host, "send_transfer", &form).await;
        assert_eq!((got.as_u16(), error["message"].as_str().unwrap()), (status, message));
    }
    assert_eq!(sol_balance(&alice, &host).await, 1_000_000_000);
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test]
async fn a_swap_through_the_host_opens_by_reference_and_filters_by_token_and_date() {
    let host = platform().await;
    let (alice, _) = user(&host, "10").await;
    let (eve, _) = user(&host, "1").await;
    let quote_form = [("from", "SOL"), ("to", "USDC"), ("amount", "1.5"), ("side", "exact_in"), ("slippage_bps", "50")];
    let (status, quote) = call(&alice, &host, "swap_quote", &quote_form).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let (status, swap) = call(
        &alice,
        &host,
        "execute_swap",
        &[("quote_id", quote["id"].as_str().unwrap()), ("idempotency_key", "browser-swap-0001")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    assert_eq!(swap["amount_out"], quote["amount_out"]);
    assert_eq!(sol_balance(&alice, &host).await, 8_500_000_000);
    let (_, portfolio) = call(&alice, &host, "my_portfolio", &[]).await;
    let usdc = portfolio["holdings"].as_array().unwrap().iter().find(|h| h["token"] == "USDC").unwrap();
    assert_eq!(usdc["amount"], quote["amount_out"]);

    let reference = swap["reference"].as_str().unwrap();
    let (status, opened) = call(&alice, &host, "my_swap", &[("reference", reference)]).await;
    assert_eq!((status, opened), (StatusCode::OK, swap.clone()));
    let today = chrono_today();
    let (_, by_token) =
        call(&alice, &host, "my_swaps", &[("token", "USDC"), ("from_date", &today), ("to_date", &today)]).await;
    assert_eq!(by_token["swaps"][0]["reference"], reference);
    let (_, other_token) = call(&alice, &host, "my_swaps", &[("token", "JUP")]).await;
    assert_eq!(other_token["swaps"], serde_json::json!([]));
    let (status, _) = call(&alice, &host, "my_swaps", &[("from_date", "yesterday")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&eve, &host, "my_swap", &[("reference", reference)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn chrono_today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn staking_through_the_host_shows_in_the_portfolio_and_only_for_its_owner() {
    let host = platform().await;
    let (alice, _) = user(&host, "10").await;
    let (eve, _) = user(&host, "1").await;
    let form = [("validator", "aurora"), ("amount", "4"), ("idempotency_key", "browser-stake-0001")];
    let (status, staked) = call(&alice, &host, "stake_sol", &form).await;
    assert_eq!(status, StatusCode::OK, "{staked}");
    assert_eq!(staked["state"], "activating");
    assert_eq!(sol_balance(&alice, &host).await, 6_000_000_000);
    let (_, overview) = call(&alice, &host, "my_stakes", &[]).await;
    assert_eq!(overview["accounts"][0]["address"], staked["address"]);
    assert!(overview["epoch"]["ends_at_ms"].as_i64() > overview["epoch"]["now_ms"].as_i64());
    let (_, portfolio) = call(&alice, &host, "my_portfolio", &[]).await;
    assert_eq!(portfolio["staked"]["amount"], 4_000_000_000u64);

    let address = staked["address"].as_str().unwrap();
    let (status, _) = call(&eve, &host, "unstake", &[("address", address)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        call(&eve, &host, "withdraw_stake", &[("address", address), ("idempotency_key", "browser-wdr-0001")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, unstaked) = call(&alice, &host, "unstake", &[("address", address)]).await;
    assert_eq!((status, unstaked["state"].as_str()), (StatusCode::OK, Some("deactivating")));
    let (status, error) = call(&alice, &host, "unstake", &[("address", "not an address")]).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}
