//! Security properties of the whole platform, over real HTTP against a real database.
//!
//! Covered here: the services accept only requests signed with the shared secret; through the
//! host, a user can neither see nor touch another user's money or records; the session cookie
//! is locked down, renewed at log-in and worthless after log-out; other sites cannot make a
//! logged-in browser act; log-in guessing is limited per client without locking out other
//! addresses; oversized and malformed requests are refused before anything moves.
//!
//! What `accounts.rs` already proves (sign-up cookie flags, the per-address log-in limit, the
//! cross-site refusal of sign-up and log-out) is not repeated.

use std::collections::BTreeMap;

use mongodb::bson::{Document, doc};
use reqwest::{StatusCode, header::SET_COOKIE};
use serde_json::{Value, json};
use server::{Config, SESSION_COOKIE};
use solstice_kit::auth::{SIGNATURE_HEADER, SigningKey, WALLET_HEADER, sign};
use solstice_ledger::Ledger;
use solstice_testkit::signed_raw;
use solstice_types::{Amount, Token, WalletAddress};

use crate::helpers::{PASSWORD, TestPlatform, balances, sign_up_form, sol, start_host, start_services, text};

const TEN_MINUTES_MS: i64 = 10 * 60 * 1_000;
/// Well-formed references that name nothing.
const UNKNOWN_TRANSFER: &str = "TRF-01JDX3Q7ZK-8M2XQF";
const UNKNOWN_SWAP: &str = "SWP-01JDX3Q7ZK-8M2XQF";

// ---------------------------------------------------------------------------------------------
// Talking to a service directly.

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn secret() -> SigningKey {
    solstice_testkit::host_key()
}

/// What every service answers a request it cannot authenticate.
fn unauthorized() -> Value {
    json!({ "code": "unauthorized", "message": "Missing or invalid service credentials." })
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// Signature headers, as `sign` makes them.
type Headers = Vec<(&'static str, String)>;

fn replace_header(headers: &mut [(&'static str, String)], name: &str, value: &str) {
    for header in headers.iter_mut().filter(|header| header.0 == name) {
        header.1 = value.to_owned();
    }
}

/// One route of a service, with a request for it and what that request gets when signed.
struct Probe {
    base: String,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    /// The answer to the request signed properly. Checking it proves that the route exists and
    /// that this file signs correctly, so that the 401s are the credentials' doing.
    signed_status: StatusCode,
}

impl Probe {
    fn new(base: &str, method: &'static str, path: impl Into<String>, body: Value, signed_status: StatusCode) -> Probe {
        let body = if body.is_null() { Vec::new() } else { bytes(&body) };
        Probe { base: base.to_owned(), method, path: path.into(), body, signed_status }
    }

    /// Sends this probe's method and body to `path` with `headers`.
    async fn send(&self, path: &str, headers: &[(&'static str, String)]) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        solstice_testkit::send(self.method, &url, headers, &self.body, !self.body.is_empty()).await
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Internal credentials.

#[tokio::test]
async fn every_service_route_refuses_requests_without_valid_internal_credentials() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    crate::helpers::start_recorder(&database, |_| {}).await;
    let services = start_services(database.name()).await;
    let caller = WalletAddress::from_public_key(&[7; 32]);
    let someone_else = WalletAddress::from_public_key(&[8; 32]);

    // Health probes stay open: Kubernetes and load balancers call them without credentials.
    for base in [&services.portfolio, &services.transfer, &services.swap, &services.stake] {
        let response = reqwest::get(format!("{base}/healthz")).await.expect("the service answers");
        assert_eq!(response.status(), StatusCode::OK, "{base}/healthz");
    }

    // Every route of every service's `api` router. The bodies are harmless when signed: the
    // caller holds nothing, sends to itself, or names things that do not exist.
    let (portfolio, transfer, swap, stake) =
        (services.portfolio.as_str(), services.transfer.as_str(), services.swap.as_str(), services.stake.as_str());
    let send_to_self = json!({
        "to": caller.as_str(), "token": "SOL", "amount": "1", "memo": null, "idempotency_key": "probe-transfer-0001"
    });
    let new_quote = json!({ "from": "SOL", "to": "USDC", "amount": "1", "side": "exact_in", "slippage_bps": 50 });
    let missing_quote = json!({ "quote_id": "q_missing", "idempotency_key": "probe-swap-0001" });
    let new_stake = json!({ "validator": "meridian", "amount": "1", "idempotency_key": "probe-stake-0001" });
    let withdrawal = json!({ "idempotency_key": "probe-withdraw-0001" });
    let probes = [
        Probe::new(portfolio, "GET", "/v1/portfolio", Value::Null, StatusCode::OK),
        Probe::new(transfer, "GET", "/v1/transfers", Value::Null, StatusCode::OK),
        Probe::new(transfer, "POST", "/v1/transfers", send_to_self, StatusCode::BAD_REQUEST),
        Probe::new(transfer, "GET", format!("/v1/transfers/{UNKNOWN_TRANSFER}"), Value::Null, StatusCode::NOT_FOUND),
        Probe::new(transfer, "GET", format!("/v1/recipients/{someone_else}"), Value::Null, StatusCode::NOT_FOUND),
        Probe::new(swap, "POST", "/v1/quotes", new_quote, StatusCode::CREATED),
        Probe::new(swap, "GET", "/v1/swaps", Value::Null, StatusCode::OK),
        Probe::new(swap, "POST", "/v1/swaps", missing_quote, StatusCode::NOT_FOUND),
        Probe::new(swap, "GET", format!("/v1/swaps/{UNKNOWN_SWAP}"), Value::Null, StatusCode::NOT_FOUND),
        Probe::new(stake, "GET", "/v1/validators", Value::Null, StatusCode::OK),
        Probe::new(stake, "GET", "/v1/epoch", Value::Null, StatusCode::OK),
        Probe::new(stake, "GET", "/v1/stakes", Value::Null, StatusCode::OK),
        Probe::new(stake, "POST", "/v1/stakes", new_stake, StatusCode::UNPROCESSABLE_ENTITY),
        Probe::new(stake, "POST", format!("/v1/stakes/{someone_else}/unstake"), json!({}), StatusCode::NOT_FOUND),
        Probe::new(stake, "POST", format!("/v1/stakes/{someone_else}/withdraw"), withdrawal, StatusCode::NOT_FOUND),
    ];

    let secret = secret();
    let wrong_secret = SigningKey::from_hex("host", &"ab".repeat(32)).unwrap();
    let stranger = SigningKey::from_hex("stranger", solstice_kit::start::TEST_SIGNING_KEY).unwrap();
    for probe in &probes {
        let route = format!("{} {}", probe.method, probe.path);
        let (method, path, body) = (probe.method, probe.path.as_str(), probe.body.as_slice());
        let now = now_ms();
        let valid = Vec::from(sign(&secret, method, path, &caller, now, body));
        let (status, answer) = probe.send(path, &valid).await;
        assert_eq!(status, probe.signed_status, "{route}, signed properly: {answer}");

        let other_method = if method == "GET" { "POST" } else { "GET" };
        let other_body = [body, b" ".as_slice()].concat();
        let with_query = format!("{path}?limit=1");
        let mut other_wallet = valid.clone();
        replace_header(&mut other_wallet, WALLET_HEADER, someone_else.as_str());
        let mut garbled = valid.clone();
        replace_header(&mut garbled, SIGNATURE_HEADER, "not-a-hex-signature");
        let signed = |secret: &SigningKey, method: &str, path: &str, at_ms: i64, body: &[u8]| {
            Vec::from(sign(secret, method, path, &caller, at_ms, body))
        };
        let attempts: Vec<(&str, &str, Headers)> = vec![
            ("no credentials", path, Vec::new()),
            ("a signature made with another key", path, signed(&wrong_secret, method, path, now, body)),
            ("the host's key under another caller's name", path, signed(&stranger, method, path, now, body)),
            ("a signature for another path", path, signed(&secret, method, "/v1/elsewhere", now, body)),
            ("a query added after signing", with_query.as_str(), valid.clone()),
            ("a signature for another body", path, signed(&secret, method, path, now, other_body.as_slice())),
            ("a signature for another method", path, signed(&secret, other_method, path, now, body)),
            ("another wallet than the one signed for", path, other_wallet),
            ("a garbled signature", path, garbled),
            ("a signature ten minutes old", path, signed(&secret, method, path, now - TEN_MINUTES_MS, body)),
            ("a signature ten minutes ahead", path, signed(&secret, method, path, now + TEN_MINUTES_MS, body)),
        ];
        for (what, sent_path, headers) in &attempts {
            let (status, answer) = probe.send(sent_path, headers).await;
            assert_eq!((status, &answer), (StatusCode::UNAUTHORIZED, &unauthorized()), "{route} with {what}");
        }
        // A request that changes something is accepted once: the same signed request again is
        // refused. (Reads may be repeated: they change nothing. So may the POSTs the swap
        // service declares effect-free: a quote, sealed into its id and stored nowhere.)
        let (status, answer) = probe.send(path, &valid).await;
        let effect_free = probe.base == swap && solstice_swap::EFFECT_FREE_POSTS.contains(&path);
        if method == "GET" || (method == "POST" && effect_free) {
            assert_eq!(status, probe.signed_status, "{route}, read again: {answer}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{route}, replayed: {answer}");
            assert_eq!(answer["message"], "This signed request was already used.", "{route}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Isolation between users.

#[tokio::test]
async fn a_user_can_never_read_or_move_another_users_funds_or_records() {
    let platform = TestPlatform::with_services().await;
    let (alice, alice_address) = platform.user("10").await;
    let (bob, bob_address) = platform.user("5").await;
    let (_carol, carol_address) = platform.user("1").await;

    // Alice's history: a transfer to Carol, a swap and a stake; and a quote kept for later.
    let alice_transfer = [
        ("to", carol_address.as_str()),
        ("token", "SOL"),
        ("amount", "1"),
        ("memo", "rent"),
        ("idempotency_key", "alice-transfer-0001"),
    ];
    let (status, transfer) = alice.call("send_transfer", &alice_transfer).await;
    assert_eq!(status, StatusCode::OK, "{transfer}");
    let transfer_reference = text(&transfer["reference"]);
    let executed_quote = text(&alice.quote("1").await["id"]);
    let form = [("quote_id", executed_quote.as_str()), ("idempotency_key", "alice-swap-0001")];
    let (status, swap) = alice.call("execute_swap", &form).await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    let swap_reference = text(&swap["reference"]);
    let form = [("validator", "meridian"), ("amount", "1"), ("idempotency_key", "alice-stake-0001")];
    let (status, stake) = alice.call("stake_sol", &form).await;
    assert_eq!(status, StatusCode::OK, "{stake}");
    let stake_address = text(&stake["address"]);
    let open_quote = text(&alice.quote("0.5").await["id"]);

    let alice_before = platform.balances(&alice_address).await;
    let bob_before = platform.balances(&bob_address).await;
    assert_eq!(bob_before, BTreeMap::from([(Token::Sol, sol("5"))]));

    // Bob, logged in as himself, goes after each of Alice's things. Each answers as if it did
    // not exist: telling "not yours" from "no such thing" would confirm it exists.
    let attempts = [
        ("reading Alice's transfer", bob.call("my_transfer", &[("reference", transfer_reference.as_str())]).await),
        ("reading Alice's swap", bob.call("my_swap", &[("reference", swap_reference.as_str())]).await),
        (
            "executing Alice's open quote",
            bob.call("execute_swap", &[("quote_id", open_quote.as_str()), ("idempotency_key", "bob-swap-0001")]).await,
        ),
        (
            "replaying Alice's swap with her own key",
            bob.call("execute_swap", &[("quote_id", executed_quote.as_str()), ("idempotency_key", "alice-swap-0001")])
                .await,
        ),
        (
            "unstaking Alice's stake",
            bob.call("unstake", &[("address", stake_address.as_str()), ("idempotency_key", "bob-uns-0001")]).await,
        ),
        (
            "withdrawing Alice's stake",
            bob.call(
                "withdraw_stake",
                &[("address", stake_address.as_str()), ("idempotency_key", "bob-withdraw-0001")],
            )
            .await,
        ),
    ];
    for (what, (status, body)) in &attempts {
        assert_eq!(*status, StatusCode::NOT_FOUND, "{what}: {body}");
        assert_eq!(body["code"], "not_found", "{what}: {body}");
    }
    let (_, someone_elses_quote) = &attempts[2].1;
    assert_eq!(someone_elses_quote["message"], "This quote does not exist. Get a new quote.");

    // Bob's own lists and portfolio show nothing of Alice's.
    let (_, transfers) = bob.call("my_transfers", &[]).await;
    assert_eq!(transfers["transfers"], json!([]), "{transfers}");
    let (_, swaps) = bob.call("my_swaps", &[]).await;
    assert_eq!(swaps["swaps"], json!([]), "{swaps}");
    let (_, stakes) = bob.call("my_stakes", &[]).await;
    assert_eq!(stakes["accounts"], json!([]), "{stakes}");
    let (status, portfolio) = bob.call("my_portfolio", &[]).await;
    assert_eq!(status, StatusCode::OK, "{portfolio}");
    assert_eq!(portfolio["wallet"], bob_address.as_str());
    let holdings = portfolio["holdings"].as_array().expect("holdings");
    assert_eq!(holdings.len(), 1, "{portfolio}");
    assert_eq!((&holdings[0]["token"], &holdings[0]["amount"]), (&json!("SOL"), &json!(5_000_000_000u64)));
    assert_eq!(portfolio["staked"]["amount"], 0, "{portfolio}");

    // Nothing moved, and Alice's things are as she left them.
    assert_eq!(platform.balances(&alice_address).await, alice_before);
    assert_eq!(platform.balances(&bob_address).await, bob_before);
    assert_eq!(bob.sol_balance().await, 5_000_000_000);
    let (status, own) = alice.call("my_transfer", &[("reference", transfer_reference.as_str())]).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let (_, overview) = alice.call("my_stakes", &[]).await;
    let account = &overview["accounts"][0];
    assert_eq!(account["address"], stake_address.as_str(), "{overview}");
    assert!(account["deactivation_epoch"].is_null(), "Bob's unstake must not reach Alice's stake: {account}");
    // Bob's attempt did not use up Alice's quote: she can still execute it.
    let form = [("quote_id", open_quote.as_str()), ("idempotency_key", "alice-swap-0002")];
    let (status, swapped) = alice.call("execute_swap", &form).await;
    assert_eq!(status, StatusCode::OK, "{swapped}");
    assert_eq!(swapped["quote_id"], open_quote.as_str());

    // The paying wallet is the session's: naming Alice's wallet in extra fields moves Bob's
    // money (the fields are ignored) or is refused, and never touches Alice's.
    let alice_now = platform.balances(&alice_address).await;
    let mut bob_spent = Amount::ZERO;
    let spoofed = [
        ("to", carol_address.as_str()),
        ("token", "SOL"),
        ("amount", "0.5"),
        ("memo", ""),
        ("idempotency_key", "bob-transfer-0001"),
        ("from", alice_address.as_str()),
        ("wallet", alice_address.as_str()),
    ];
    let (status, sent) = bob.call("send_transfer", &spoofed).await;
    if status == StatusCode::OK {
        assert_eq!(sent["from"], bob_address.as_str(), "{sent}");
        bob_spent = bob_spent.checked_add(sol("0.5")).unwrap();
    } else {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sent}");
    }
    // Idempotency keys are per wallet: Bob resending Alice's exact transfer, key included, makes
    // a transfer of his own instead of getting (or repeating) hers.
    let (status, resent) = bob.call("send_transfer", &alice_transfer).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_ne!(text(&resent["reference"]), transfer_reference);
    assert_eq!(resent["from"], bob_address.as_str(), "{resent}");
    bob_spent = bob_spent.checked_add(sol("1")).unwrap();

    assert_eq!(platform.balances(&alice_address).await, alice_now);
    let bob_expected = sol("5").checked_sub(bob_spent).unwrap();
    assert_eq!(platform.balances(&bob_address).await[&Token::Sol], bob_expected);
    let (_, transfers) = bob.call("my_transfers", &[]).await;
    let listed = transfers["transfers"].as_array().expect("transfers");
    assert!(!listed.is_empty(), "{transfers}");
    assert!(listed.iter().all(|transfer| transfer["from"] == bob_address.as_str()), "{transfers}");
    assert!(listed.iter().all(|transfer| transfer["reference"] != transfer_reference.as_str()), "{transfers}");
    solstice_testkit::assert_books_balance(&platform.ledger).await;
}

// ---------------------------------------------------------------------------------------------
// 3. The session cookie.

/// A server-function call without a cookie jar: sends `session` as the session cookie if
/// given, and returns the status, the body and the session's `Set-Cookie` if one came back.
async fn call_raw(
    base: &str,
    function: &str,
    form: &[(&str, &str)],
    session: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = reqwest::Client::new().post(format!("{base}/api/{function}")).form(form);
    if let Some(id) = session {
        request = request.header("cookie", format!("{SESSION_COOKIE}={id}"));
    }
    let response = request.send().await.expect("the host answers");
    let status = response.status();
    let prefix = format!("{SESSION_COOKIE}=");
    let set_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(prefix.as_str()))
        .map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), set_cookie)
}

/// The session id a `Set-Cookie` header carries.
fn session_id(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=').map(|(_, value)| value.trim().to_owned()).unwrap_or_default()
}

/// Checks a session `Set-Cookie`: not readable by scripts, not sent on cross-site requests,
/// for the whole site and this host only, expiring after the idle time, and `Secure` exactly
/// when configured.
fn assert_session_cookie(set_cookie: &str, secure: bool, idle_seconds: u64) {
    assert!(!session_id(set_cookie).is_empty(), "{set_cookie}");
    let attributes: Vec<&str> = set_cookie.split(';').skip(1).map(str::trim).collect();
    let max_age = format!("Max-Age={idle_seconds}");
    for expected in ["HttpOnly", "SameSite=Lax", "Path=/", max_age.as_str()] {
        assert!(attributes.contains(&expected), "{expected} is missing: {set_cookie}");
    }
    assert_eq!(attributes.contains(&"Secure"), secure, "Secure must be set exactly when configured: {set_cookie}");
    assert!(!attributes.iter().any(|attribute| attribute.starts_with("Domain=")), "{set_cookie}");
}

#[tokio::test]
async fn session_cookies_are_locked_down_renewed_at_log_in_and_dead_after_log_out() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    let plain = start_host(database.name(), |_| {}).await;
    let secure = start_host(database.name(), |config| config.cookie_secure = true).await;
    let idle_minutes =
        Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned()).session_idle_minutes;
    let idle_seconds = u64::from(idle_minutes) * 60;

    // A live session of someone else's account, as an attacker would plant in a victim's browser.
    let (status, _, planted) = call_raw(&plain, "sign_up", &sign_up_form("1"), None).await;
    assert_eq!(status, StatusCode::OK);
    let planted = session_id(&planted.expect("sign-up sets the session cookie"));

    // The victim's account, made on the HTTPS-configured host: its cookie is Secure.
    let (status, victim, cookie) = call_raw(&secure, "sign_up", &sign_up_form("1"), None).await;
    assert_eq!(status, StatusCode::OK, "{victim}");
    assert_session_cookie(&cookie.expect("sign-up sets the session cookie"), true, idle_seconds);
    let victim = text(&victim["address"]);
    let log_in = [("address", victim.as_str()), ("password", PASSWORD)];

    // Log-in sets a locked-down cookie with a new session id; the planted id is worthless.
    let (status, me, cookie) = call_raw(&plain, "log_in", &log_in, Some(planted.as_str())).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let cookie = cookie.expect("log-in sets the session cookie");
    assert_session_cookie(&cookie, false, idle_seconds);
    let session = session_id(&cookie);
    assert_ne!(session, planted, "log-in must not keep a session id chosen before it");
    assert_eq!(call_raw(&plain, "current_user", &[], Some(planted.as_str())).await.1, Value::Null);
    assert_eq!(call_raw(&plain, "current_user", &[], Some(session.as_str())).await.1["address"], victim.as_str());

    // Over HTTPS the log-in cookie is Secure as well.
    let (status, me, cookie) = call_raw(&secure, "log_in", &log_in, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_session_cookie(&cookie.expect("log-in sets the session cookie"), true, idle_seconds);

    // Log-out clears the cookie and ends the session on the server: replaying the old cookie
    // (copied before log-out) gets nobody.
    let (status, _, cleared) = call_raw(&plain, "log_out", &[], Some(session.as_str())).await;
    assert_eq!(status, StatusCode::OK);
    let cleared = cleared.expect("log-out clears the session cookie");
    assert!(session_id(&cleared).is_empty() && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(call_raw(&plain, "current_user", &[], Some(session.as_str())).await.1, Value::Null);
}

// ---------------------------------------------------------------------------------------------
// 4. Cross-site requests.

#[tokio::test]
async fn cross_site_writes_to_server_functions_are_refused_and_change_nothing() {
    let platform = TestPlatform::with_services().await;
    let (browser, address) = platform.user("10").await;
    let (_, recipient) = platform.user("1").await;
    let quote_id = text(&browser.quote("1").await["id"]);
    let before = platform.balances(&address).await;
    let recipient_before = platform.balances(&recipient).await;

    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "send_transfer",
            vec![
                ("to", recipient.as_str()),
                ("token", "SOL"),
                ("amount", "1"),
                ("memo", ""),
                ("idempotency_key", "xsite-transfer-0001"),
            ],
        ),
        ("execute_swap", vec![("quote_id", quote_id.as_str()), ("idempotency_key", "xsite-swap-0001")]),
        ("stake_sol", vec![("validator", "meridian"), ("amount", "1"), ("idempotency_key", "xsite-stake-0001")]),
        // Logging the victim into the attacker's account is an attack too.
        ("log_in", vec![("address", recipient.as_str()), ("password", PASSWORD)]),
        ("log_out", vec![]),
    ];
    // A page on another site (or a sandboxed frame, whose origin is "null") posting a form
    // with the visitor's cookie.
    let foreign = [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")];
    let refused = json!({ "code": "forbidden", "message": "Requests from other sites are not accepted." });
    for (function, form) in &attempts {
        for header in foreign {
            let (status, body) = browser.call_with(function, form, &[header]).await;
            assert_eq!((status, &body), (StatusCode::FORBIDDEN, &refused), "{function} with {header:?}");
        }
    }
    // Nor does a GET (which passes the cross-site check as a read) reach a server function.
    for (function, form) in [("log_out", Vec::new()), ("send_transfer", attempts[0].1.clone())] {
        let response = browser
            .client
            .get(format!("{}/api/{function}", platform.host))
            .query(&form)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .expect("the host answers");
        assert!(!response.status().is_success(), "GET /api/{function} answered {}", response.status());
    }

    // Still logged in as before, and nothing moved.
    assert_eq!(browser.current_user().await["address"], address.as_str());
    assert_eq!(platform.balances(&address).await, before);
    assert_eq!(platform.balances(&recipient).await, recipient_before);
    assert_eq!(browser.call("my_transfers", &[]).await.1["transfers"], json!([]));
    assert_eq!(browser.call("my_swaps", &[]).await.1["swaps"], json!([]));
    assert_eq!(browser.call("my_stakes", &[]).await.1["accounts"], json!([]));

    // The same requests from the site itself go through; the quote was not used up.
    let same_origin = [("origin", platform.host.as_str()), ("sec-fetch-site", "same-origin")];
    let (status, sent) = browser.call_with("send_transfer", &attempts[0].1, &same_origin).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(platform.balances(&address).await[&Token::Sol], sol("9"));
    let (status, swapped) = browser.call_with("execute_swap", &attempts[1].1, &same_origin).await;
    assert_eq!(status, StatusCode::OK, "{swapped}");
    let (status, body) = browser.call_with("log_out", &[], &same_origin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(browser.current_user().await, Value::Null);
}

// ---------------------------------------------------------------------------------------------
// 5. Log-in guessing.

#[tokio::test]
async fn log_in_guessing_is_limited_per_client_without_locking_out_other_addresses() {
    // One address under attack does not stop other addresses from logging in from the same
    // network, nor end its owner's session. (That the attacked address is refused even the
    // right password is proven in accounts.rs; here it is only the starting point.)
    let platform = TestPlatform::host_only(|config| config.login_failures_per_address_and_client = 2).await;
    let (alice, alice_address) = platform.user("1").await;
    let (_, bob_address) = platform.user("1").await;
    let same_network = platform.browser();
    let guess = [("address", alice_address.as_str()), ("password", "a wrong guess")];
    for _ in 0..2 {
        let (status, body) = same_network.call("log_in", &guess).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let right = [("address", alice_address.as_str()), ("password", PASSWORD)];
    let (status, body) = same_network.call("log_in", &right).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{body}");
    let (status, me) = same_network.call("log_in", &[("address", bob_address.as_str()), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "another address logs in: {me}");
    assert_eq!(same_network.current_user().await["address"], bob_address.as_str());
    assert_eq!(alice.current_user().await["address"], alice_address.as_str());

    // Guessing across many addresses is limited per client, and a client cannot dodge that
    // limit by claiming other addresses in X-Forwarded-For: without trusted proxies the host
    // uses the connection's address.
    let platform = TestPlatform::host_only(|config| config.login_failures_per_client = 3).await;
    let guesser = platform.browser();
    for n in 0..4u8 {
        let address = WalletAddress::from_public_key(&[40 + n; 32]).to_string();
        let forwarded = format!("198.51.100.{n}");
        let form = [("address", address.as_str()), ("password", "a wrong guess")];
        let (status, body) = guesser.call_with("log_in", &form, &[("x-forwarded-for", forwarded.as_str())]).await;
        if n < 3 {
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "guess {n}: {body}");
            assert_eq!(body["code"], "rate_limited");
            assert!(text(&body["message"]).starts_with("Too many failed log-in attempts. Try again in"), "{body}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Oversized and malformed requests.

#[tokio::test]
async fn oversized_and_malformed_forms_are_refused_before_anything_moves() {
    let platform = TestPlatform::with_services().await;
    let (browser, address) = platform.user("10").await;
    let (_, recipient) = platform.user("1").await;
    let before = platform.balances(&address).await;

    // A transfer that would go through but for a 100 KiB field the server function ignores.
    let transfer = vec![
        ("to", recipient.as_str()),
        ("token", "SOL"),
        ("amount", "1"),
        ("memo", ""),
        ("idempotency_key", "padded-transfer-0001"),
    ];
    let padding = "p".repeat(100 * 1024);
    let mut oversized = transfer.clone();
    oversized.push(("padding", padding.as_str()));
    let (status, body) = browser.call("send_transfer", &oversized).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // Missing fields and values of the wrong type are refused with one clear sentence.
    let malformed: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("send_transfer", transfer[..4].to_vec()),
        ("send_transfer", vec![]),
        (
            "swap_quote",
            vec![("from", "SOL"), ("to", "USDC"), ("amount", "1"), ("side", "exact_in"), ("slippage_bps", "lots")],
        ),
        (
            "swap_quote",
            vec![("from", "SOL"), ("to", "USDC"), ("amount", "1"), ("side", "sideways"), ("slippage_bps", "50")],
        ),
        ("stake_sol", vec![("validator", "meridian"), ("idempotency_key", "short-stake-0001")]),
        ("withdraw_stake", vec![("idempotency_key", "short-withdraw-0001")]),
    ];
    let invalid = json!({ "code": "invalid_input", "message": "Some of the form's fields are missing or malformed." });
    for (function, form) in &malformed {
        let (status, body) = browser.call(function, form).await;
        assert_eq!((status, &body), (StatusCode::BAD_REQUEST, &invalid), "{function} {form:?}");
    }
    // A body that is not text at all is the sender's mistake too, not an outage.
    let garbage = browser
        .client
        .post(format!("{}/api/send_transfer", platform.host))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0xc3, 0x28])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json::<Value>().await.unwrap(), invalid);

    assert_eq!(platform.balances(&address).await, before);
    assert_eq!(browser.call("my_transfers", &[]).await.1["transfers"], json!([]));
    assert_eq!(browser.call("my_swaps", &[]).await.1["swaps"], json!([]));
    assert_eq!(browser.call("my_stakes", &[]).await.1["accounts"], json!([]));

    // The same transfer with a small extra field moves money: it was the size that was refused.
    let mut padded = transfer.clone();
    padded.push(("padding", "p"));
    let (status, sent) = browser.call("send_transfer", &padded).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(platform.balances(&address).await[&Token::Sol], sol("9"));
}

/// Over a raw socket, the way a slow client does it: sends the headers of a POST declaring a
/// `length`-byte body and its first bytes, pauses (long enough for a server that answers at
/// once to close the connection with them unread), then sends the rest. Returns everything the server answered.
async fn post_slowly(base: &str, path: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[b'p'; 4096]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A server that already hung up makes these writes fail: what it answered is read below.
    for _ in 1..length / 4096 {
        if socket.write_all(&[b'p'; 4096]).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_client_still_sending_an_oversized_body_gets_the_refusal_not_a_reset_connection() {
    // Before: the host answered a plain-text 413 as soon as it saw the declared length and
    // closed the connection with the body unread; a client still sending could get a reset
    // instead of the answer (CI saw it once, as `IncompleteMessage`, in the form test above).
    // That race does not happen on every run; the answer's shape is checked on every run.
    let platform = TestPlatform::with_services().await;
    let transfer = platform.services.as_ref().unwrap().transfer.clone();
    for (base, path) in [(transfer.as_str(), "/v1/transfers"), (platform.host.as_str(), "/api/send_transfer")] {
        let answer = post_slowly(base, path, 100 * 4096).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{base}{path} answered: {answer:?}");
        assert!(answer.contains(r#""code":"too_large""#), "{base}{path} answered: {answer:?}");
        // A body declared past what is ever read is refused at once, without waiting for it.
        let answer = post_headers_only(base, path, 64 * 1024 * 1024).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{base}{path} answered: {answer:?}");
    }
}

/// Sends only the headers of a POST declaring a `length`-byte body; returns what the server
/// answered within 5 s.
async fn post_headers_only(base: &str, path: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\r\n");
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut answer)).await;
    let read = read.ok().and_then(Result::ok).unwrap_or(0);
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
#[allow(clippy::type_complexity)] // a table of cases, read row by row
async fn services_refuse_oversized_and_malformed_bodies_and_move_nothing() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let services = start_services(database.name()).await;
    let ledger = Ledger::new(client, &database);
    let sender = solstice_testkit::new_user(&database, &ledger, &[(Token::Sol, 5_000_000_000)]).await;
    let recipient = solstice_testkit::new_user(&database, &ledger, &[]).await;
    let sender_before = balances(&ledger, sender.as_str()).await;
    assert_eq!(sender_before, BTreeMap::from([(Token::Sol, sol("5"))]));
    let (transfer, swap, stake) = (services.transfer.as_str(), services.swap.as_str(), services.stake.as_str());
    let send = json!({
        "to": recipient.as_str(), "token": "SOL", "amount": "1", "memo": null, "idempotency_key": "svc-transfer-0001"
    });

    // A body past 64 KiB, signed properly: refused for its size, before anything else.
    let mut oversized = send.clone();
    oversized["padding"] = Value::String("p".repeat(100 * 1024));
    let (status, answer) =
        signed_raw("POST", &format!("{transfer}/v1/transfers"), &sender, &bytes(&oversized), true).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));

    // Malformed and mistyped JSON, signed properly, gets the shared error shape.
    let cut_short = br#"{"idempotency_key": "#.to_vec();
    let withdraw = format!("/v1/stakes/{}/withdraw", WalletAddress::from_public_key(&[21; 32]));
    let not_json = "The request body is not valid JSON.";
    let mistyped = "The request body is not as expected: ";
    let mut numeric_amount = send.clone();
    numeric_amount["amount"] = json!(1);
    // What, service, path, body, labelled as JSON, the start of the expected message.
    let cases: Vec<(&str, &str, &str, Vec<u8>, bool, &str)> = vec![
        ("a transfer cut short", transfer, "/v1/transfers", cut_short.clone(), true, not_json),
        ("a transfer with a numeric amount", transfer, "/v1/transfers", bytes(&numeric_amount), true, mistyped),
        (
            "a transfer not labelled as JSON",
            transfer,
            "/v1/transfers",
            bytes(&send),
            false,
            "Send the request body as JSON.",
        ),
        ("a quote cut short", swap, "/v1/quotes", cut_short.clone(), true, not_json),
        (
            "a quote with an unknown side",
            swap,
            "/v1/quotes",
            bytes(&json!({ "from": "SOL", "to": "USDC", "amount": "1", "side": "sideways" })),
            true,
            mistyped,
        ),
        ("a swap cut short", swap, "/v1/swaps", cut_short.clone(), true, not_json),
        (
            "a swap with a numeric quote id",
            swap,
            "/v1/swaps",
            bytes(&json!({ "quote_id": 7, "idempotency_key": "svc-swap-0001" })),
            true,
            mistyped,
        ),
        ("a stake cut short", stake, "/v1/stakes", cut_short.clone(), true, not_json),
        (
            "a stake with a numeric amount",
            stake,
            "/v1/stakes",
            bytes(&json!({ "validator": "meridian", "amount": 1, "idempotency_key": "svc-stake-0001" })),
            true,
            mistyped,
        ),
        ("a withdrawal cut short", stake, withdraw.as_str(), cut_short.clone(), true, not_json),
        (
            "a withdrawal with a numeric key",
            stake,
            withdraw.as_str(),
            bytes(&json!({ "idempotency_key": 12_345_678 })),
            true,
            mistyped,
        ),
    ];
    for (what, base, path, body, json, message) in &cases {
        let (status, answer) = signed_raw("POST", &format!("{base}{path}"), &sender, body, *json).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["code"], "invalid_input", "{what}: {answer}");
        let said = answer["message"].as_str().unwrap_or_default();
        assert!(said.starts_with(*message), "{what}: {answer}");
    }

    // Nothing moved and nothing was recorded.
    assert_eq!(balances(&ledger, sender.as_str()).await, sender_before);
    assert_eq!(balances(&ledger, recipient.as_str()).await, BTreeMap::<Token, Amount>::new());
    let stakes = database.collection::<Document>(solstice_stake::STAKE_ACCOUNTS);
    assert_eq!(stakes.count_documents(doc! {}).await.unwrap(), 0, "no stake account was opened");
    solstice_testkit::assert_books_balance(&ledger).await;

    // The well-formed transfer, signed the same way, moves money: the refusals above were the
    // bodies' doing.
    let (status, sent) = signed_raw("POST", &format!("{transfer}/v1/transfers"), &sender, &bytes(&send), true).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(balances(&ledger, sender.as_str()).await[&Token::Sol], sol("4"));
}
