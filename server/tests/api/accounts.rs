//! The host over real HTTP, against a real database: sign-up, log-in, sessions, limits.

use std::sync::Arc;

use mongodb::bson::doc;
use reqwest::{StatusCode, header::SET_COOKIE};
use serde_json::Value;
use server::SESSION_COOKIE;
use solstice_ledger::{AccountId, SystemAccount};
use solstice_types::{Amount, Token, WalletAddress};

use crate::helpers::{Browser, PASSWORD, TestPlatform, sol};

#[tokio::test]
async fn sign_up_creates_a_wallet_credits_it_from_the_faucet_and_logs_it_in() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let faucet = AccountId::System(SystemAccount::Faucet);
    let faucet_before = platform.ledger.balance(&faucet, Token::Sol).await.unwrap();
    let client = platform.browser();

    let (status, body) = client.sign_up("12.5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let address = body["address"].as_str().unwrap().to_owned();
    assert!(WalletAddress::parse(&address).is_ok());
    assert_eq!(body["sol_balance"], 12_500_000_000u64);
    assert!(body["airdrop"].as_str().unwrap().starts_with("AIR-"));

    assert_eq!(
        client.current_user().await,
        serde_json::json!({ "address": address, "sol_balance": 12_500_000_000u64 })
    );
    assert_eq!(platform.sol_balance(&address).await, sol("12.5"));
    let faucet_after = platform.ledger.balance(&faucet, Token::Sol).await.unwrap();
    assert_eq!(faucet_before.checked_sub(faucet_after), Some(sol("12.5")));
    platform.assert_books_balance().await;

    let stored = platform
        .database
        .collection::<mongodb::bson::Document>("users")
        .find_one(doc! { "_id": &address })
        .await
        .unwrap()
        .unwrap();
    let hash = stored.get_str("password_hash").unwrap();
    assert!(hash.starts_with("$argon2id$"), "passwords are stored as Argon2id hashes");
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn invalid_sign_up_inputs_are_refused_with_a_clear_message_and_change_nothing() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let cases = [
        ("short", "short", "10", "invalid_input", "Choose a password of at least 10 characters."),
        (PASSWORD, "correct horse batteries", "10", "invalid_input", "The two passwords do not match."),
        (
            PASSWORD,
            PASSWORD,
            "1000.000000001",
            "invalid_amount",
            "Choose an initial balance between 0.000000001 and 1,000 SOL.",
        ),
        (PASSWORD, PASSWORD, "0", "invalid_amount", "Choose an initial balance between 0.000000001 and 1,000 SOL."),
        (PASSWORD, PASSWORD, "ten", "invalid_amount", "Enter the amount as a number, like 1.5."),
        (PASSWORD, PASSWORD, "0.0000000001", "invalid_amount", "This token has at most 9 decimal places."),
        (PASSWORD, PASSWORD, "", "invalid_amount", "Enter an amount."),
    ];
    let client = platform.browser();
    for (password, confirmation, initial, code, message) in cases {
        let form = [("password", password), ("confirm_password", confirmation), ("initial_sol", initial)];
        let (status, body) = client.call("sign_up", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{initial}: {body}");
        assert_eq!(body, serde_json::json!({ "code": code, "message": message }));
    }
    let missing_field = client.call("sign_up", &[("password", PASSWORD)]).await;
    assert_eq!(missing_field.0.as_u16() / 100, 4, "{missing_field:?}");

    assert_eq!(platform.users().await, 0);
    assert_eq!(client.current_user().await, Value::Null, "nobody is logged in");
    platform.assert_books_balance().await;
}

#[tokio::test]
async fn log_in_works_with_the_right_password_and_log_out_ends_the_session() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let (_, body) = platform.browser().sign_up("3").await;
    let address = body["address"].as_str().unwrap().to_owned();

    let client = platform.browser();
    let (status, me) = client.call("log_in", &[("address", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["sol_balance"], 3_000_000_000u64);
    assert_eq!(client.current_user().await["address"], address.as_str());

    // The logged-in page is rendered on the server with the user's wallet in it.
    let html = client.client.get(format!("{}/", platform.host)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&address), "the wallet page shows the address");

    let (status, _) = client.call("log_out", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(client.current_user().await, Value::Null);
    let html = client.client.get(format!("{}/", platform.host)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(&address), "a logged-out visitor sees no wallet");
}

#[tokio::test]
async fn wrong_password_and_unknown_address_get_the_same_answer() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let (_, body) = platform.browser().sign_up("1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let unknown = WalletAddress::from_public_key(&[9; 32]).to_string();
    let client = platform.browser();

    let wrong_password = client.call("log_in", &[("address", &address), ("password", "wrong password!")]).await;
    let unknown_address = client.call("log_in", &[("address", &unknown), ("password", PASSWORD)]).await;
    let expected = serde_json::json!({ "code": "invalid_credentials", "message": "Wrong wallet address or password." });
    assert_eq!(wrong_password, (StatusCode::UNAUTHORIZED, expected.clone()));
    assert_eq!(unknown_address, (StatusCode::UNAUTHORIZED, expected));
    assert_eq!(client.current_user().await, Value::Null);

    let malformed = client.call("log_in", &[("address", "0OIl"), ("password", PASSWORD)]).await;
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.1["code"], "invalid_address");
}

#[tokio::test]
async fn repeated_failed_log_ins_are_slowed_down_per_address() {
    let platform = TestPlatform::host_only(|config| config.login_failures_per_address_and_client = 3).await;
    let (_, body) = platform.browser().sign_up("1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let attacker = platform.browser();
    for _ in 0..3 {
        let (status, _) = attacker.call("log_in", &[("address", &address), ("password", "guess guess guess")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused until the window passes.
    let (status, body) = attacker.call("log_in", &[("address", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].as_str().unwrap().starts_with("Too many failed log-in attempts. Try again in"));
    assert_eq!(attacker.current_user().await, Value::Null);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_secure_when_configured() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/sign_up", platform.host))
        .form(&[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")])
        .send()
        .await
        .unwrap();
    let cookie =
        response.headers().get(SET_COOKIE).expect("sign-up sets the session cookie").to_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("{SESSION_COOKIE}=")), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-HTTP local runs cannot use Secure cookies: {cookie}");

    let secure_base = platform.another_host(|config| config.cookie_secure = true).await;
    let response = reqwest::Client::new()
        .post(format!("{secure_base}/api/sign_up"))
        .form(&[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")])
        .send()
        .await
        .unwrap();
    let cookie = response.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_session_works_on_every_host_process_and_survives_a_restart() {
    let cached = |config: &mut server::config::Config| {
        config.session_cache_seconds = server::session_store::DEFAULT_CACHE_SECONDS;
    };
    let platform = TestPlatform::host_only(cached).await;
    let client = platform.browser();
    let (_, body) = client.sign_up("2").await;
    let address = body["address"].clone();

    // Another host process over the same database knows the session (cookies are per host
    // name, not per port, so the same client sends it).
    let second = platform.another_host(cached).await;
    assert_eq!(client.at(&second).current_user().await["address"], address);

    // A host started after the others (as after a restart or a rolling update) knows it too.
    let restarted = platform.another_host(cached).await;
    assert_eq!(client.at(&restarted).current_user().await["address"], address);

    // Logging out on one host ends the session everywhere, though the others had it in
    // memory: they hear of the log-out from the database's change stream (within
    // milliseconds; far sooner than their memory of a session lapses).
    for _ in 0..3 {
        assert_eq!(client.current_user().await["address"], address);
    }
    client.at(&second).call("log_out", &[]).await;
    assert_eq!(client.at(&second).current_user().await, Value::Null);
    let logged_out = std::time::Instant::now();
    for host in [platform.host.as_str(), restarted.as_str()] {
        while client.at(host).current_user().await != Value::Null {
            assert!(
                logged_out.elapsed() < std::time::Duration::from_secs(3),
                "{host} still knows the session {:?} after the log-out on another host",
                logged_out.elapsed()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn fifty_simultaneous_sign_ups_each_get_exactly_their_balance() {
    let platform = Arc::new(TestPlatform::host_only(|config| config.signups_per_client = 50).await);
    let faucet = AccountId::System(SystemAccount::Faucet);
    let faucet_before = platform.ledger.balance(&faucet, Token::Sol).await.unwrap();
    let tasks: Vec<_> = (1..=50)
        .map(|i| {
            let platform = platform.clone();
            tokio::spawn(async move {
                let initial = format!("{i}.000000001");
                let (status, body) = platform.browser().sign_up(&initial).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                (body["address"].as_str().unwrap().to_owned(), initial)
            })
        })
        .collect();
    let mut total = Amount::ZERO;
    let mut addresses = Vec::new();
    for task in tasks {
        let (address, initial) = task.await.unwrap();
        assert_eq!(platform.sol_balance(&address).await, sol(&initial));
        total = total.checked_add(sol(&initial)).unwrap();
        addresses.push(address);
    }
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 50, "every sign-up got its own address");
    let faucet_after = platform.ledger.balance(&faucet, Token::Sol).await.unwrap();
    assert_eq!(faucet_before.checked_sub(faucet_after), Some(total));
    platform.assert_books_balance().await;
}

#[tokio::test]
async fn health_probes_and_unknown_pages_answer_properly() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let client = platform.browser();
    assert_eq!(client.client.get(format!("{}/healthz", platform.host)).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.client.get(format!("{}/readyz", platform.host)).send().await.unwrap().status(), StatusCode::OK);
    let missing = client.client.get(format!("{}/no-such-page", platform.host)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    let oversized =
        client.client.post(format!("{}/api/log_in", platform.host)).body(vec![b'a'; 200 * 1024]).send().await.unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn simultaneous_guesses_cannot_outrun_the_log_in_limit() {
    let platform = TestPlatform::host_only(|config| config.login_failures_per_address_and_client = 3).await;
    let base = platform.host.clone();
    let (_, body) = platform.browser().sign_up("1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let (base, address) = (base.clone(), address.clone());
            tokio::spawn(async move {
                let password = format!("guess number {i}");
                Browser::new(&base).call("log_in", &[("address", &address), ("password", &password)]).await.0
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        let status = guess.await.unwrap();
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
        checked += usize::from(status == StatusCode::UNAUTHORIZED);
    }
    assert_eq!(checked, 3, "only the allowed number of guesses had their password checked");
}

#[tokio::test]
async fn sign_ups_are_limited_per_client() {
    let platform = TestPlatform::host_only(|config| config.signups_per_client = 2).await;
    assert_eq!(platform.browser().sign_up("1").await.0, StatusCode::OK);
    assert_eq!(platform.browser().sign_up("1").await.0, StatusCode::OK);
    let (status, body) = platform.browser().sign_up("1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("Too many sign-ups from your network."));
    assert_eq!(platform.users().await, 2);
}

#[tokio::test]
async fn writes_from_other_sites_are_refused() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let client = platform.browser().client;
    let response = client
        .post(format!("{}/api/sign_up", platform.host))
        .header("origin", "https://evil.example")
        .form(&[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "forbidden");
    let response = client
        .post(format!("{}/api/log_out", platform.host))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(platform.users().await, 0);

    // The same request from the site itself goes through.
    let own_origin = platform.host.clone();
    let response = client
        .post(format!("{}/api/sign_up", platform.host))
        .header("origin", own_origin)
        .form(&[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_still_in_flight_at_log_out_cannot_bring_the_session_back() {
    use server::session_store::MongoSessionStore;
    use tower_sessions::{SessionStore, session::Record};

    let (_client, database) = solstice_testkit::fresh_database().await;
    // With sessions kept in memory, as a host keeps them.
    let store = MongoSessionStore::new(&database, std::time::Duration::from_secs(30));
    store.init().await.unwrap();
    let mut record = Record {
        id: Default::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    record.data.insert("wallet".into(), serde_json::json!("someone"));
    store.create(&mut record).await.unwrap();
    for _ in 0..3 {
        assert!(store.load(&record.id).await.unwrap().is_some());
    }

    // Log-out deletes the session; a request that had loaded it earlier then saves it.
    store.delete(&record.id).await.unwrap();
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none(), "the logged-out session stays gone");
}

#[tokio::test]
async fn an_active_session_slides_forward_about_once_a_minute_not_on_every_request() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let client = platform.browser();
    client.sign_up("1").await;
    let sessions = platform.database.collection::<mongodb::bson::Document>(server::session_store::SESSIONS);
    let stored = || async { sessions.find_one(doc! {}).await.unwrap().expect("one session") };
    client.current_user().await;
    let first = stored().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    client.current_user().await;
    client.current_user().await;
    assert_eq!(stored().await.get_datetime("expires_at").unwrap(), first.get_datetime("expires_at").unwrap());

    // A minute later (moved back in the stored data), the next request moves the expiry.
    let mut data: serde_json::Map<String, Value> = serde_json::from_str(first.get_str("data").unwrap()).unwrap();
    let seen = data["seen"].as_i64().unwrap();
    data.insert("seen".to_owned(), Value::from(seen - 61));
    let id = first.get_str("_id").unwrap();
    let data = serde_json::to_string(&data).unwrap();
    sessions.update_one(doc! { "_id": id }, doc! { "$set": { "data": data } }).await.unwrap();
    assert!(client.current_user().await["address"].is_string());
    let moved = stored().await;
    assert!(moved.get_datetime("expires_at").unwrap() > first.get_datetime("expires_at").unwrap());
}

#[tokio::test]
async fn a_missing_page_still_shows_the_logged_in_user_their_account() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let client = platform.browser();
    let (status, body) = client.sign_up("1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let missing = client.client.get(format!("{}/no-such-page", platform.host)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains("data-testid=\"topbar-address\""), "the top bar shows the account, not 'Log in'");
}

/// Starting a host generates the app's route list, and while Leptos generates one no resource
/// anywhere in the process loads (leptos-rs/leptos#4773): a page rendered meanwhile by another
/// host never finished. Tests run many hosts in one process, starting while others serve, and
/// one such page once held a CI run until its time ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_finish_while_other_hosts_start_in_the_same_process() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let (user, _) = platform.user("1").await;
    let database = platform.database.name().to_owned();
    let starting = tokio::spawn(async move {
        for _ in 0..12 {
            crate::helpers::start_host(&database, |_| {}).await;
        }
    });
    // Pages that load resources (the user, balances, holdings, stakes), requested all the time
    // the other hosts start.
    let mut pages = Vec::new();
    for path in ["/portfolio", "/send", "/stake", "/activity"].into_iter().cycle() {
        if starting.is_finished() {
            break;
        }
        let browser = user.clone();
        pages.push(tokio::spawn(async move {
            let page = async {
                let response = browser.client.get(format!("{}{path}", browser.host)).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                response.text().await.unwrap()
            };
            let body = tokio::time::timeout(std::time::Duration::from_secs(30), page).await;
            (path, body.is_ok_and(|body| body.contains("</html>")))
        }));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    starting.await.unwrap();
    let mut unfinished = Vec::new();
    for page in pages {
        let (path, finished) = page.await.unwrap();
        if !finished {
            unfinished.push(path);
        }
    }
    assert!(unfinished.is_empty(), "pages never finished: {unfinished:?}");
}
