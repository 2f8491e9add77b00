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
