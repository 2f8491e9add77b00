//! The host fanning out to the portfolio, transfer, swap and stake services over real HTTP.

use reqwest::StatusCode;

use crate::helpers::{Browser, TestPlatform, start_host, start_portfolio};

#[tokio::test]
async fn a_logged_in_user_gets_their_portfolio_from_the_service() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    crate::helpers::start_recorder(&database, |_| {}).await;
    let portfolio = start_portfolio(database.name()).await;
    let browser = Browser::new(&start_host(database.name(), |config| config.portfolio_url = portfolio).await);

    let (status, body) = browser.call("my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Please log in to continue.");

    let (status, signed_up) = browser.sign_up("42.5").await;
    assert_eq!(status, StatusCode::OK);
    let (status, portfolio) = browser.call("my_portfolio", &[]).await;
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
    let host = start_host(database.name(), |config| {
        config.portfolio_url = dead;
        config.service_timeout_ms = 1_000;
    })
    .await;
    let browser = Browser::new(&host);
    assert_eq!(browser.sign_up("1").await.0, StatusCode::OK);
    let (status, body) = browser.call("my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(body["message"], "The service is temporarily unavailable. Please try again in a moment.");
}

#[tokio::test]
async fn a_transfer_through_the_host_shows_in_both_histories_and_only_theirs() {
    let platform = TestPlatform::with_services().await;
    let (alice, _) = platform.user("10").await;
    let (bob, bob_address) = platform.user("1").await;
    let (eve, _) = platform.user("1").await;

    let (status, recipient) = alice.call("find_recipient", &[("address", &bob_address)]).await;
    assert_eq!((status, recipient["address"].as_str()), (StatusCode::OK, Some(bob_address.as_str())));
    let send = [
        ("to", bob_address.as_str()),
        ("token", "SOL"),
        ("amount", "2.5"),
        ("memo", "for the tickets"),
        ("idempotency_key", "browser-key-0001"),
    ];
    let (status, sent) = alice.call("send_transfer", &send).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    // The browser retrying the same submission gets the same transfer, and nothing moves twice.
    let (_, again) = alice.call("send_transfer", &send).await;
    assert_eq!(again, sent);
    assert_eq!(alice.sol_balance().await, 7_500_000_000);
    assert_eq!(bob.sol_balance().await, 3_500_000_000);

    let reference = sent["reference"].as_str().unwrap();
    let (_, alices) = alice.call("my_transfers", &[]).await;
    assert_eq!(alices["transfers"][0]["direction"], "sent");
    let (_, bobs) = bob.call("my_transfers", &[]).await;
    assert_eq!(bobs["transfers"][0]["reference"], reference);
    assert_eq!(bobs["transfers"][0]["direction"], "received");
    assert_eq!(bobs["transfers"][0]["memo"], "for the tickets");
    let (status, receipt) = bob.call("my_transfer", &[("reference", &reference.to_lowercase())]).await;
    assert_eq!((status, &receipt["reference"]), (StatusCode::OK, &sent["reference"]));

    let (status, error) = eve.call("my_transfer", &[("reference", reference)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(eve.call("my_transfers", &[]).await.1["transfers"], serde_json::json!([]));
    let (status, error) = eve.call("my_transfer", &[("reference", "nonsense")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["message"], "That is not a reference number (they look like TRF-01JDX3Q7ZK-8M2XQF).");
}

#[tokio::test]
async fn receiving_shows_your_own_address_and_sending_offers_your_own_recent_recipients() {
    let platform = TestPlatform::with_services().await;
    let (alice, alice_address) = platform.user("10").await;
    let (_, bob_address) = platform.user("1").await;
    let (_, carol_address) = platform.user("1").await;
    let (eve, _) = platform.user("1").await;

    let (status, code) = alice.call("receive_code", &[]).await;
    assert_eq!(status, StatusCode::OK, "{code}");
    assert_eq!(code["address"], alice_address.as_str());
    assert!(code["qr"]["size"].as_u64().unwrap() >= 21 + 8, "a QR code is at least 21 modules and its margin: {code}");
    assert!(code["qr"]["path"].as_str().unwrap().starts_with("M4 4h7v1h-7z"), "{code}");
    let (status, error) = platform.browser().call("receive_code", &[]).await;
    assert_eq!((status, error["message"].as_str()), (StatusCode::UNAUTHORIZED, Some("Please log in to continue.")));

    assert_eq!(alice.call("recent_recipients", &[]).await, (StatusCode::OK, serde_json::json!([])));
    for (i, to) in [&bob_address, &carol_address, &bob_address].into_iter().enumerate() {
        let key = format!("recent-recipients-{i:04}");
        let send = [("to", to.as_str()), ("token", "SOL"), ("amount", "1"), ("memo", ""), ("idempotency_key", &key)];
        assert_eq!(alice.call("send_transfer", &send).await.0, StatusCode::OK);
    }
    // The newest first, each once; a wallet that only received has sent to nobody.
    let (status, recent) = alice.call("recent_recipients", &[]).await;
    assert_eq!((status, recent), (StatusCode::OK, serde_json::json!([bob_address, carol_address])));
    assert_eq!(eve.call("recent_recipients", &[]).await.1, serde_json::json!([]));
    let (status, _) = platform.browser().call("recent_recipients", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn transfer_mistakes_come_back_as_clear_errors() {
    let platform = TestPlatform::with_services().await;
    let (alice, alice_address) = platform.user("1").await;
    let (_, bob_address) = platform.user("1").await;
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
        let (got, error) = alice.call("send_transfer", &form).await;
        assert_eq!((got.as_u16(), error["message"].as_str().unwrap()), (status, message));
    }
    assert_eq!(alice.sol_balance().await, 1_000_000_000);
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test]
async fn a_swap_through_the_host_opens_by_reference_and_filters_by_token_and_date() {
    let platform = TestPlatform::with_services().await;
    let (alice, _) = platform.user("10").await;
    let (eve, _) = platform.user("1").await;
    let quote_form = [("from", "SOL"), ("to", "USDC"), ("amount", "1.5"), ("side", "exact_in"), ("slippage_bps", "50")];
    let (status, quote) = alice.call("swap_quote", &quote_form).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let (status, swap) = alice
        .call("execute_swap", &[("quote_id", quote["id"].as_str().unwrap()), ("idempotency_key", "browser-swap-0001")])
        .await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    // Filled at the live price (the simulated market may tick between quote and fill), never
    // below the quote's bound.
    assert!(swap["amount_out"].as_u64().unwrap() >= quote["min_received"].as_u64().unwrap(), "{swap} {quote}");
    assert_eq!(swap["quoted_amount_out"], quote["amount_out"]);
    assert_eq!(alice.sol_balance().await, 8_500_000_000);
    let (_, portfolio) = alice.call("my_portfolio", &[]).await;
    let usdc = portfolio["holdings"].as_array().unwrap().iter().find(|h| h["token"] == "USDC").unwrap();
    assert_eq!(usdc["amount"], swap["amount_out"]);

    let reference = swap["reference"].as_str().unwrap();
    let (status, opened) = alice.call("my_swap", &[("reference", reference)]).await;
    assert_eq!((status, opened), (StatusCode::OK, swap.clone()));
    let today = chrono_today();
    let (_, by_token) = alice.call("my_swaps", &[("token", "USDC"), ("from_date", &today), ("to_date", &today)]).await;
    assert_eq!(by_token["swaps"][0]["reference"], reference);
    let (_, other_token) = alice.call("my_swaps", &[("token", "JUP")]).await;
    assert_eq!(other_token["swaps"], serde_json::json!([]));
    let (status, _) = alice.call("my_swaps", &[("from_date", "yesterday")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = eve.call("my_swap", &[("reference", reference)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn chrono_today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn staking_through_the_host_shows_in_the_portfolio_and_only_for_its_owner() {
    let platform = TestPlatform::with_services().await;
    let (alice, _) = platform.user("10").await;
    let (eve, _) = platform.user("1").await;
    let form = [("validator", "aurora"), ("amount", "4"), ("idempotency_key", "browser-stake-0001")];
    let (status, staked) = alice.call("stake_sol", &form).await;
    assert_eq!(status, StatusCode::OK, "{staked}");
    assert_eq!(staked["state"], "activating");
    assert_eq!(alice.sol_balance().await, 6_000_000_000);
    let (_, overview) = alice.call("my_stakes", &[]).await;
    assert_eq!(overview["accounts"][0]["address"], staked["address"]);
    assert!(overview["epoch"]["ends_at_ms"].as_i64() > overview["epoch"]["now_ms"].as_i64());
    let (_, portfolio) = alice.call("my_portfolio", &[]).await;
    assert_eq!(portfolio["staked"]["amount"], 4_000_000_000u64);

    let address = staked["address"].as_str().unwrap();
    let (status, _) = eve.call("unstake", &[("address", address), ("idempotency_key", "browser-uns-0001")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        eve.call("withdraw_stake", &[("address", address), ("idempotency_key", "browser-wdr-0001")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unstake = [("address", address), ("idempotency_key", "browser-uns-0002")];
    let (status, unstaked) = alice.call("unstake", &unstake).await;
    assert_eq!((status, unstaked["state"].as_str()), (StatusCode::OK, Some("deactivating")));
    // The browser's retry (same key) gets the same unstake, not "already unstaked" (its state
    // may have moved on if an epoch ended in between).
    let (status, again) = alice.call("unstake", &unstake).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["address"], &again["deactivation_epoch"]),
        (&unstaked["address"], &unstaked["deactivation_epoch"])
    );
    let other_key = [("address", address), ("idempotency_key", "browser-uns-0003")];
    let (status, error) = alice.call("unstake", &other_key).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (status, error) =
        alice.call("unstake", &[("address", "not an address"), ("idempotency_key", "browser-uns-0004")]).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}
