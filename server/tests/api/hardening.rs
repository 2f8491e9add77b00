//! The security review's findings against the host (issue 13), each over real HTTP against a
//! real database: no lock-out of an owner by strangers, bounded guessing, the faucet's daily
//! budget, slow clients disconnected.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Browser, PASSWORD, TestPlatform, sign_up_form, text};

/// A browser that the host, behind one trusted proxy, sees coming from `ip`.
async fn log_in_from(browser: &Browser, ip: &str, address: &str, password: &str) -> (StatusCode, Value) {
    let form = [("address", address), ("password", password)];
    browser.call_with("log_in", &form, &[("x-forwarded-for", ip)]).await
}

#[tokio::test]
async fn failed_guesses_from_one_network_do_not_lock_the_owner_out() {
    let platform = TestPlatform::host_only(|config| config.trusted_proxy_hops = 1).await;
    let (_, address) = platform.user("1").await;
    let attacker = platform.browser();
    for _ in 0..5 {
        let (status, body) = log_in_from(&attacker, "203.0.113.7", &address, "a wrong guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // The guessing network is refused, even with the right password...
    let (status, body) = log_in_from(&attacker, "203.0.113.7", &address, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(text(&body["message"]).starts_with("Too many failed log-in attempts. Try again in"), "{body}");
    assert_eq!(attacker.current_user().await, Value::Null);
    // ...but the owner, on another network, logs in.
    let owner = platform.browser();
    let (status, body) = log_in_from(&owner, "198.51.100.20", &address, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(owner.current_user().await["address"], address.as_str());
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64_prefix() {
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.login_failures_per_client = 3;
    })
    .await;
    let (_, address) = platform.user("1").await;
    let guesser = platform.browser();
    // Four addresses of one /64: one subscriber, one client.
    for n in 1..=4 {
        let ip = format!("2001:db8:7:7::{n}");
        let (status, body) = log_in_from(&guesser, &ip, &address, "a wrong guess").await;
        let expected = if n <= 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(status, expected, "guess {n} from {ip}: {body}");
    }
    // Another /64 is another client.
    let (status, body) = log_in_from(&guesser, "2001:db8:7:8::1", &address, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn guessing_from_many_networks_is_slowed_down_but_the_owners_network_is_not() {
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.login_failures_per_address = 4;
        config.login_slowed_seconds = 600;
    })
    .await;
    let (_, address) = platform.user("1").await;
    // The owner logged in from home before.
    let home = "192.0.2.10";
    let (status, _) = log_in_from(&platform.browser(), home, &address, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // Thirty networks, one guess each: the passwords checked stay bounded by the address's budget
    // plus one attempt per slowed-down interval.
    let mut checked = 0;
    let mut slowed = 0;
    for n in 0..30 {
        let ip = format!("203.0.113.{}", n + 1);
        let (status, body) = log_in_from(&platform.browser(), &ip, &address, "a wrong guess").await;
        match status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(text(&body["message"]).contains("log-ins to it are slowed down"), "{body}");
                slowed += 1;
            }
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    assert_eq!(checked, 5, "four failures of budget, then one attempt per interval");
    assert_eq!(slowed, 25);
    // A stranger with the right password waits too...
    let (status, _) = log_in_from(&platform.browser(), "203.0.113.200", &address, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...but the owner, from a network they used before, is not slowed.
    let owner = platform.browser();
    let (status, body) = log_in_from(&owner, home, &address, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(owner.current_user().await["address"], address.as_str());
}

#[tokio::test]
async fn the_faucet_gives_each_network_a_daily_budget_and_says_what_is_left() {
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.faucet_sol_per_client_per_day = 1_500;
    })
    .await;
    let browser = platform.browser();
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let allowance = |ip: &'static str| {
        let browser = browser.clone();
        async move { browser.call_with("faucet_allowance", &[], &from(ip)).await }
    };
    let (status, body) = allowance("203.0.113.5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["per_wallet"], 1_000_000_000_000_u64, "{body}");
    assert_eq!(body["left_today"], 1_500_000_000_000_u64, "{body}");

    let (status, body) = platform.browser().call_with("sign_up", &sign_up_form("1000"), &from("203.0.113.5")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(allowance("203.0.113.5").await.1["left_today"], 500_000_000_000_u64);
    // Asking for more than is left is refused with what is left, and creates nothing.
    let (status, body) = platform.browser().call_with("sign_up", &sign_up_form("600"), &from("203.0.113.5")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(text(&body["message"]), "Your network can receive at most 500 SOL more from the faucet today.");
    assert_eq!(platform.users().await, 1);
    let (status, _) = platform.browser().call_with("sign_up", &sign_up_form("500"), &from("203.0.113.5")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = platform.browser().call_with("sign_up", &sign_up_form("1"), &from("203.0.113.5")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(text(&body["message"]), "Your network has received today's faucet SOL. Try again tomorrow.");
    // Another network has its own budget.
    assert_eq!(allowance("198.51.100.5").await.1["left_today"], 1_500_000_000_000_u64);
    let (status, _) = platform.browser().call_with("sign_up", &sign_up_form("1000"), &from("198.51.100.5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(platform.users().await, 3);
    platform.assert_books_balance().await;
}

#[tokio::test]
async fn the_host_disconnects_a_client_that_never_finishes_its_headers() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let addr = platform.host.trim_start_matches("http://").to_owned();
    let mut slow_loris = TcpStream::connect(&addr).await.unwrap();
    slow_loris.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a").await.unwrap();
    let mut buffer = [0_u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match slow_loris.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a connection with unfinished headers is closed within 30 s");
}

/// Opens `/ws/prices` with extra headers; the HTTP status of a refusal.
async fn open_socket(
    addr: &str,
    headers: &[(&str, &str)],
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>, StatusCode> {
    use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
    let mut request = format!("ws://{addr}/ws/prices").into_client_request().unwrap();
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(Error::Http(response)) => Err(StatusCode::from_u16(response.status().as_u16()).unwrap()),
        Err(other) => panic!("the socket failed otherwise: {other}"),
    }
}

#[tokio::test]
async fn live_price_sockets_are_capped_per_client() {
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.ws_per_client = 3;
    })
    .await;
    let addr = platform.host.trim_start_matches("http://").to_owned();
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(open_socket(&addr, &from("203.0.113.9")).await.expect("within the cap"));
    }
    assert_eq!(open_socket(&addr, &from("203.0.113.9")).await.err(), Some(StatusCode::TOO_MANY_REQUESTS));
    // Another client is not affected, and a closed socket frees its place.
    let other = open_socket(&addr, &from("198.51.100.9")).await;
    assert!(other.is_ok(), "another network connects");
    let mut closed = open.pop().unwrap();
    closed.close(None).await.unwrap();
    drop(closed);
    let mut reopened = Err(StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..50 {
        reopened = open_socket(&addr, &from("203.0.113.9")).await;
        if reopened.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_ok(), "a closed socket's place is given back");
}

#[tokio::test]
async fn live_price_sockets_opened_by_other_sites_are_refused() {
    let platform =
        TestPlatform::host_only(|config| config.allowed_origins = vec!["https://app.example".to_owned()]).await;
    let addr = platform.host.trim_start_matches("http://").to_owned();
    let own = format!("http://{addr}");
    assert_eq!(open_socket(&addr, &[("origin", "https://evil.example")]).await.err(), Some(StatusCode::FORBIDDEN));
    assert_eq!(open_socket(&addr, &[("origin", "null")]).await.err(), Some(StatusCode::FORBIDDEN));
    assert!(open_socket(&addr, &[("origin", own.as_str())]).await.is_ok(), "the host's own pages connect");
    assert!(open_socket(&addr, &[("origin", "https://app.example")]).await.is_ok(), "a configured origin connects");
    assert!(open_socket(&addr, &[]).await.is_ok(), "a client that is not a browser connects");
}

/// A page's headers and body, fetched by `browser`.
async fn page(browser: &Browser, path: &str) -> (reqwest::header::HeaderMap, String) {
    let response = browser.client.get(format!("{}{path}", browser.host)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers.get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The nonce of a Content Security Policy's `script-src`.
fn policy_nonce(policy: &str) -> String {
    let start = policy.find("'nonce-").expect("the policy has a nonce") + "'nonce-".len();
    policy[start..].split('\'').next().unwrap().to_owned()
}

#[tokio::test]
async fn pages_send_a_content_security_policy_with_a_fresh_nonce_and_are_never_cached() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let visitor = platform.browser();
    let (user, _) = platform.user("1").await;
    let mut nonces = Vec::new();
    for (browser, path) in [(&visitor, "/"), (&visitor, "/login"), (&user, "/portfolio"), (&user, "/send")] {
        let (headers, body) = page(browser, path).await;
        let policy = header(&headers, "content-security-policy");
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{path}: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        assert!(policy.contains("object-src 'none'") && policy.contains("base-uri 'none'"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "no inline script or style is allowed: {policy}");
        let nonce = policy_nonce(&policy);
        assert!(nonce.len() >= 16, "{nonce}");
        // Every inline script of the page carries the nonce; nothing else can run.
        let scripts = body.matches("<script").count();
        assert!(scripts >= 1, "the hydration script is there");
        assert!(body.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts, "{path}: {body}");
        assert!(!body.contains(" style=\""), "{path}: an inline style would be refused");
        nonces.push(nonce);
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&headers, "x-frame-options"), "DENY");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "strict-transport-security"), "", "plain HTTP: no HSTS");
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "each response has its own nonce");

    // What server functions answer (balances, addresses) is not cached either.
    let response = user.client.post(format!("{}/api/current_user", platform.host)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "cache-control"), "no-store");

    // Behind HTTPS (Secure cookies), browsers are told to stay on HTTPS.
    let secure = platform.another_host(|config| config.cookie_secure = true).await;
    let (headers, _) = page(&Browser::new(&secure), "/").await;
    assert_eq!(header(&headers, "strict-transport-security"), "max-age=63072000; includeSubDomains");
}

#[tokio::test]
async fn a_session_ends_a_day_after_log_in_however_active() {
    use mongodb::bson::{Document, doc};
    let platform = TestPlatform::host_only(|_| {}).await;
    let (browser, address) = platform.user("1").await;
    assert_eq!(browser.current_user().await["address"], address.as_str());
    let sessions = platform.database.collection::<Document>(server::session_store::SESSIONS);
    let stored = sessions.find_one(doc! {}).await.unwrap().expect("one session");
    let mut data: serde_json::Map<String, Value> = serde_json::from_str(stored.get_str("data").unwrap()).unwrap();
    let logged_in_at = data["logged_in_at"].as_i64().expect("the session says when it logged in");
    // Used a minute ago, so not idle, but logged in 24 hours ago.
    data.insert("logged_in_at".to_owned(), Value::from(logged_in_at - 24 * 3600));
    data.insert("seen".to_owned(), Value::from(chrono::Utc::now().timestamp() - 60));
    let id = stored.get_str("_id").unwrap();
    let data = serde_json::to_string(&data).unwrap();
    sessions.update_one(doc! { "_id": id }, doc! { "$set": { "data": data } }).await.unwrap();
    assert_eq!(browser.current_user().await, Value::Null, "the session is over");
    assert_eq!(sessions.count_documents(doc! {}).await.unwrap(), 0, "and deleted");
    let (status, body) = browser.call("log_in", &[("address", address.as_str()), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(browser.current_user().await["address"], address.as_str());
}

#[tokio::test]
async fn an_owner_retrying_while_log_ins_are_slowed_down_is_not_locked_out_by_the_retries() {
    use mongodb::bson::{DateTime, Document, doc};
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.login_failures_per_address = 2;
        config.login_slowed_seconds = 600;
    })
    .await;
    let (_, address) = platform.user("1").await;
    for n in 0..3 {
        let ip = format!("203.0.113.{}", n + 1);
        log_in_from(&platform.browser(), &ip, &address, "a wrong guess").await;
    }
    // The owner, on a network they never used, retries while slowed down: every attempt waits.
    let owner = platform.browser();
    for _ in 0..8 {
        let (status, body) = log_in_from(&owner, "198.51.100.77", &address, PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(text(&body["message"]).contains("slowed down"), "{body}");
    }
    // Their turn comes (the interval passes): the retries did not use up their network's limit.
    let turns = platform.database.collection::<Document>(app::backend::rate_limit::ATTEMPTS);
    let turn = format!("login-turn:{address}");
    turns.update_one(doc! { "_id": turn }, doc! { "$set": { "next_at": DateTime::now() } }).await.unwrap();
    let (status, body) = log_in_from(&owner, "198.51.100.77", &address, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_faucet_also_has_a_budget_per_ipv6_site_and_in_all() {
    let platform = TestPlatform::host_only(|config| {
        config.trusted_proxy_hops = 1;
        config.faucet_sol_per_client_per_day = 100;
        config.faucet_sol_per_day = 2_500;
    })
    .await;
    let sign_up_from = |ip: String, sol: &'static str| {
        let browser = platform.browser();
        async move { browser.call_with("sign_up", &sign_up_form(sol), &[("x-forwarded-for", ip.as_str())]).await }
    };
    // One IPv6 site (/48) gets ten networks' worth, however many /64s it uses.
    for n in 0..10 {
        let (status, body) = sign_up_from(format!("2001:db8:5:{n}::1"), "100").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = sign_up_from("2001:db8:5:99::1".to_owned(), "1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(text(&body["message"]), "Your network has received today's faucet SOL. Try again tomorrow.");
    // Everyone together: 2,500 SOL a day.
    for n in 0..15 {
        let (status, body) = sign_up_from(format!("198.51.100.{n}"), "100").await;
        assert_eq!(status, StatusCode::OK, "{n}: {body}");
    }
    let (status, body) = sign_up_from("192.0.2.1".to_owned(), "1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(text(&body["message"]), "The faucet has given out all of today's SOL. Try again tomorrow.");
    assert_eq!(platform.users().await, 25);
    platform.assert_books_balance().await;
}
