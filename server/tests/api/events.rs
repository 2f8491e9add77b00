//! Live account events over the price websocket: a wallet hears of its own money moving,
//! whichever host moved it, and no one else does, whatever they ask for.

use std::{sync::Arc, time::Duration};

use futures::{SinkExt, StreamExt};
use reqwest::{StatusCode, cookie::CookieStore};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

use crate::helpers::{Browser, TestPlatform, sign_up_form, text};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A new user in a browser whose session cookie the test can read: the browser, the address
/// and the `Cookie` header value.
async fn user(platform: &TestPlatform, initial_sol: &str) -> (Browser, String, String) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    let browser = Browser { client, host: platform.host.clone() };
    let (status, body) = browser.call("sign_up", &sign_up_form(initial_sol)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = jar.cookies(&platform.host.parse().unwrap()).expect("a session cookie");
    (browser, text(&body["address"]), cookie.to_str().unwrap().to_owned())
}

/// The price socket of `host` (`http://...`), with a session cookie or as a visitor.
async fn socket(host: &str, cookie: Option<&str>) -> Socket {
    let mut request = format!("{}/ws/prices", host.replace("http://", "ws://")).into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().unwrap());
    }
    connect_async(request).await.expect("the socket opens").0
}

/// The account events that arrive within `wait` (price ticks are passed over).
async fn account_events(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let mut events = Vec::new();
    let until = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, socket.next()).await {
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value.get("account").is_some() {
                events.push(value);
            }
        }
    }
    events
}

#[tokio::test]
async fn a_wallet_hears_of_its_own_money_moving_on_any_host_and_no_one_else_does() {
    let platform = TestPlatform::with_services().await;
    // A second host over the same database: no money moves through it here.
    let urls = platform.services.clone().unwrap();
    let other_host = platform.another_host(move |config| config.portfolio_url = urls.portfolio).await;
    let (alice, alice_address, alice_cookie) = user(&platform, "2").await;
    let (bob, bob_address, _) = user(&platform, "5").await;
    let (_, _, carol_cookie) = user(&platform, "1").await;

    let mut alice_socket = socket(&other_host, Some(&alice_cookie)).await;
    // Carol asks for Alice's events in every way a browser could: the host listens to none.
    let mut carol_socket = socket(&platform.host, Some(&carol_cookie)).await;
    for forged in [json!({ "subscribe": alice_address }), json!({ "account": alice_address, "wallet": alice_address })]
    {
        carol_socket.send(Message::text(forged.to_string())).await.unwrap();
    }
    let mut visitor_socket = socket(&platform.host, None).await;

    let send = [
        ("to", alice_address.as_str()),
        ("token", "SOL"),
        ("amount", "1.5"),
        ("memo", ""),
        ("idempotency_key", "events-0001"),
    ];
    let (status, sent) = bob.call("send_transfer", &send).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let heard = account_events(&mut alice_socket, Duration::from_secs(3)).await;
    let from = solstice_types::WalletAddress::parse(&bob_address).unwrap().short();
    let line = format!("Received 1.5 SOL from {from}");
    assert_eq!(
        heard,
        [json!({ "account": { "reference": sent["reference"], "text": line } })],
        "once, on the other host"
    );
    assert!(account_events(&mut carol_socket, Duration::from_secs(1)).await.is_empty(), "Carol hears nothing");
    assert!(account_events(&mut visitor_socket, Duration::from_millis(200)).await.is_empty());

    // Alice's own swap, made in another tab: her socket hears of it too.
    let quote = alice.quote("0.5").await;
    let (status, swap) = alice
        .call("execute_swap", &[("quote_id", quote["id"].as_str().unwrap()), ("idempotency_key", "events-swap-1")])
        .await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    let heard = account_events(&mut alice_socket, Duration::from_secs(3)).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0]["account"]["reference"], swap["reference"]);
    assert!(text(&heard[0]["account"]["text"]).starts_with("Swapped 0.5 SOL for "), "{heard:?}");

    // Logged out (in another tab): the socket is closed within the session re-check, so that
    // nothing more of the account reaches this browser.
    assert_eq!(alice.call("log_out", &[]).await.0, StatusCode::OK);
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(Ok(message)) = alice_socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|frame| frame.code);
            }
        }
        None
    })
    .await
    .expect("closed within the re-check");
    assert_eq!(closed, Some(CloseCode::from(4001)));
}
