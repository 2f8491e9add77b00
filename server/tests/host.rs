//! The host over real HTTP, against a real database: sign-up, log-in, sessions, limits.

use std::sync::Arc;

use mongodb::{Database, bson::doc};
use reqwest::{StatusCode, header::SET_COOKIE};
use serde_json::Value;
use server::{Application, Config, SESSION_COOKIE};
use solstice_ledger::{AccountId, Ledger, SystemAccount};
use solstice_types::{Amount, Token, WalletAddress};

const PASSWORD: &str = "correct horse battery";

struct TestHost {
    base: String,
    database: Database,
    ledger: Ledger,
}

/// A host on a free port over a fresh database.
async fn spawn_host() -> TestHost {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_host(database.name(), |_| {}).await;
    TestHost { base, ledger: Ledger::new(client, &database), database }
}

/// Starts a host process-alike on `database` and returns its base URL.
async fn start_host(database: &str, configure: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    configure(&mut config);
    let app = Application::build(config).await.expect("the host starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

/// A browser-like client: keeps cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

async fn call(client: &reqwest::Client, base: &str, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client.post(format!("{base}/api/{function}")).form(form).send().await.unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn sign_up(client: &reqwest::Client, base: &str, initial_sol: &str) -> (StatusCode, Value) {
    call(
        client,
        base,
        "sign_up",
        &[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", initial_sol)],
    )
    .await
}

async fn current_user(client: &reqwest::Client, base: &str) -> Value {
    let (status, body) = call(client, base, "current_user", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn sol(text: &str) -> Amount {
    Amount::parse(text, 9).unwrap()
}

async fn sol_balance(host: &TestHost, address: &str) -> Amount {
    let wallet = AccountId::wallet(&WalletAddress::parse(address).unwrap());
    host.ledger.balance(&wallet, Token::Sol).await.unwrap()
}

async fn assert_books_balance(host: &TestHost) {
    for audit in host.ledger.audit().await.unwrap() {
        assert!(audit.is_sound(), "{audit:?}");
    }
}

#[tokio::test]
async fn sign_up_creates_a_wallet_credits_it_from_the_faucet_and_logs_it_in() {
    let host = spawn_host().await;
    let faucet = AccountId::System(SystemAccount::Faucet);
    let faucet_before = host.ledger.balance(&faucet, Token::Sol).await.unwrap();
    let client = browser();

    let (status, body) = sign_up(&client, &host.base, "12.5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let address = body["address"].as_str().unwrap().to_owned();
    assert!(WalletAddress::parse(&address).is_ok());
    assert_eq!(body["sol_balance"], 12_500_000_000u64);
    assert!(body["airdrop"].as_str().unwrap().starts_with("AIR-"));

    assert_eq!(
        current_user(&client, &host.base).await,
        serde_json::json!({ "address": address, "sol_balance": 12_500_000_000u64 })
    );
    assert_eq!(sol_balance(&host, &address).await, sol("12.5"));
    let faucet_after = host.ledger.balance(&faucet, Token::Sol).await.unwrap();
    assert_eq!(faucet_before.checked_sub(faucet_after), Some(sol("12.5")));
    assert_books_balance(&host).await;

    let stored = host
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
    let host = spawn_host().await;
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
    let client = browser();
    for (password, confirmation, initial, code, message) in cases {
        let form = [("password", password), ("confirm_password", confirmation), ("initial_sol", initial)];
        let (status, body) = call(&client, &host.base, "sign_up", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{initial}: {body}");
        assert_eq!(body, serde_json::json!({ "code": code, "message": message }));
    }
    let missing_field = call(&client, &host.base, "sign_up", &[("password", PASSWORD)]).await;
    assert_eq!(missing_field.0.as_u16() / 100, 4, "{missing_field:?}");

    assert_eq!(host.database.collection::<mongodb::bson::Document>("users").count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(current_user(&client, &host.base).await, Value::Null, "nobody is logged in");
    assert_books_balance(&host).await;
}

#[tokio::test]
async fn log_in_works_with_the_right_password_and_log_out_ends_the_session() {
    let host = spawn_host().await;
    let (_, body) = sign_up(&browser(), &host.base, "3").await;
    let address = body["address"].as_str().unwrap().to_owned();

    let client = browser();
    let (status, me) = call(&client, &host.base, "log_in", &[("address", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["sol_balance"], 3_000_000_000u64);
    assert_eq!(current_user(&client, &host.base).await["address"], address.as_str());

    // The logged-in page is rendered on the server with the user's wallet in it.
    let html = client.get(format!("{}/", host.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&address), "the wallet page shows the address");

    let (status, _) = call(&client, &host.base, "log_out", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current_user(&client, &host.base).await, Value::Null);
    let html = client.get(format!("{}/", host.base)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(&address), "a logged-out visitor sees no wallet");
}

#[tokio::test]
async fn wrong_password_and_unknown_address_get_the_same_answer() {
    let host = spawn_host().await;
    let (_, body) = sign_up(&browser(), &host.base, "1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let unknown = WalletAddress::from_public_key(&[9; 32]).to_string();
    let client = browser();

    let wrong_password =
        call(&client, &host.base, "log_in", &[("address", &address), ("password", "wrong password!")]).await;
    let unknown_address = call(&client, &host.base, "log_in", &[("address", &unknown), ("password", PASSWORD)]).await;
    let expected = serde_json::json!({ "code": "invalid_credentials", "message": "Wrong wallet address or password." });
    assert_eq!(wrong_password, (StatusCode::UNAUTHORIZED, expected.clone()));
    assert_eq!(unknown_address, (StatusCode::UNAUTHORIZED, expected));
    assert_eq!(current_user(&client, &host.base).await, Value::Null);

    let malformed = call(&client, &host.base, "log_in", &[("address", "0OIl"), ("password", PASSWORD)]).await;
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.1["code"], "invalid_address");
}

#[tokio::test]
async fn repeated_failed_log_ins_are_slowed_down_per_address() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_host(database.name(), |config| config.login_failures_per_address = 3).await;
    let _ledger = Ledger::new(client, &database);
    let (_, body) = sign_up(&browser(), &base, "1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let attacker = browser();
    for _ in 0..3 {
        let (status, _) =
            call(&attacker, &base, "log_in", &[("address", &address), ("password", "guess guess guess")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused until the window passes.
    let (status, body) = call(&attacker, &base, "log_in", &[("address", &address), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].as_str().unwrap().starts_with("Too many failed log-in attempts. Try again in"));
    assert_eq!(current_user(&attacker, &base).await, Value::Null);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_secure_when_configured() {
    let host = spawn_host().await;
    let response = browser()
        .post(format!("{}/api/sign_up", host.base))
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

    let secure_base = start_host(host.database.name(), |config| config.cookie_secure = true).await;
    let response = browser()
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
    let host = spawn_host().await;
    let client = browser();
    let (_, body) = sign_up(&client, &host.base, "2").await;
    let address = body["address"].clone();

    // Another host process over the same database knows the session (cookies are per host
    // name, not per port, so the same client sends it).
    let second = start_host(host.database.name(), |_| {}).await;
    assert_eq!(current_user(&client, &second).await["address"], address);

    // A host started after the others (as after a restart or a rolling update) knows it too.
    let restarted = start_host(host.database.name(), |_| {}).await;
    assert_eq!(current_user(&client, &restarted).await["address"], address);

    // Logging out on one host ends the session everywhere.
    call(&client, &second, "log_out", &[]).await;
    assert_eq!(current_user(&client, &host.base).await, Value::Null);
}

#[tokio::test]
async fn fifty_simultaneous_sign_ups_each_get_exactly_their_balance() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_host(database.name(), |config| config.signups_per_client = 50).await;
    let host = Arc::new(TestHost { base, ledger: Ledger::new(client, &database), database });
    let faucet = AccountId::System(SystemAccount::Faucet);
    let faucet_before = host.ledger.balance(&faucet, Token::Sol).await.unwrap();
    let tasks: Vec<_> = (1..=50)
        .map(|i| {
            let host = host.clone();
            tokio::spawn(async move {
                let initial = format!("{i}.000000001");
                let (status, body) = sign_up(&browser(), &host.base, &initial).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                (body["address"].as_str().unwrap().to_owned(), initial)
            })
        })
        .collect();
    let mut total = Amount::ZERO;
    let mut addresses = Vec::new();
    for task in tasks {
        let (address, initial) = task.await.unwrap();
        assert_eq!(sol_balance(&host, &address).await, sol(&initial));
        total = total.checked_add(sol(&initial)).unwrap();
        addresses.push(address);
    }
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 50, "every sign-up got its own address");
    let faucet_after = host.ledger.balance(&faucet, Token::Sol).await.unwrap();
    assert_eq!(faucet_before.checked_sub(faucet_after), Some(total));
    assert_books_balance(&host).await;
}

#[tokio::test]
async fn health_probes_and_unknown_pages_answer_properly() {
    let host = spawn_host().await;
    let client = browser();
    assert_eq!(client.get(format!("{}/healthz", host.base)).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.get(format!("{}/readyz", host.base)).send().await.unwrap().status(), StatusCode::OK);
    let missing = client.get(format!("{}/no-such-page", host.base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    let oversized = client.post(format!("{}/api/log_in", host.base)).body(vec![b'a'; 200 * 1024]).send().await.unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn simultaneous_guesses_cannot_outrun_the_log_in_limit() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_host(database.name(), |config| config.login_failures_per_address = 3).await;
    let _ledger = Ledger::new(client, &database);
    let (_, body) = sign_up(&browser(), &base, "1").await;
    let address = body["address"].as_str().unwrap().to_owned();
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let (base, address) = (base.clone(), address.clone());
            tokio::spawn(async move {
                let password = format!("guess number {i}");
                call(&browser(), &base, "log_in", &[("address", &address), ("password", &password)]).await.0
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
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_host(database.name(), |config| config.signups_per_client = 2).await;
    let _ledger = Ledger::new(client, &database);
    assert_eq!(sign_up(&browser(), &base, "1").await.0, StatusCode::OK);
    assert_eq!(sign_up(&browser(), &base, "1").await.0, StatusCode::OK);
    let (status, body) = sign_up(&browser(), &base, "1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("Too many sign-ups from your network."));
    assert_eq!(database.collection::<mongodb::bson::Document>("users").count_documents(doc! {}).await.unwrap(), 2);
}

#[tokio::test]
async fn writes_from_other_sites_are_refused() {
    let host = spawn_host().await;
    let client = browser();
    let response = client
        .post(format!("{}/api/sign_up", host.base))
        .header("origin", "https://evil.example")
        .form(&[("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "forbidden");
    let response =
        client.post(format!("{}/api/log_out", host.base)).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(host.database.collection::<mongodb::bson::Document>("users").count_documents(doc! {}).await.unwrap(), 0);

    // The same request from the site itself goes through.
    let own_origin = host.base.clone();
    let response = client
        .post(format!("{}/api/sign_up", host.base))
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
    let store = MongoSessionStore::new(&database);
    let mut record = Record {
        id: Default::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    record.data.insert("wallet".into(), serde_json::json!("someone"));
    store.create(&mut record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_some());

    // Log-out deletes the session; a request that had loaded it earlier then saves it.
    store.delete(&record.id).await.unwrap();
    store.save(&record).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none(), "the logged-out session stays gone");
}

#[tokio::test]
async fn an_active_session_slides_forward_about_once_a_minute_not_on_every_request() {
    let host = spawn_host().await;
    let client = browser();
    sign_up(&client, &host.base, "1").await;
    let sessions = host.database.collection::<mongodb::bson::Document>(server::session_store::SESSIONS);
    let stored = || async { sessions.find_one(doc! {}).await.unwrap().expect("one session") };
    current_user(&client, &host.base).await;
    let first = stored().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    current_user(&client, &host.base).await;
    current_user(&client, &host.base).await;
    assert_eq!(stored().await.get_datetime("expires_at").unwrap(), first.get_datetime("expires_at").unwrap());

    // A minute later (moved back in the stored data), the next request moves the expiry.
    let mut data: serde_json::Map<String, Value> = serde_json::from_str(first.get_str("data").unwrap()).unwrap();
    let seen = data["seen"].as_i64().unwrap();
    data.insert("seen".to_owned(), Value::from(seen - 61));
    let id = first.get_str("_id").unwrap();
    let data = serde_json::to_string(&data).unwrap();
    sessions.update_one(doc! { "_id": id }, doc! { "$set": { "data": data } }).await.unwrap();
    assert!(current_user(&client, &host.base).await["address"].is_string());
    let moved = stored().await;
    assert!(moved.get_datetime("expires_at").unwrap() > first.get_datetime("expires_at").unwrap());
}
