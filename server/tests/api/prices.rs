//! Live prices over real websockets, against a real host and database.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use serde::Deserialize;
use server::{Application, Config};
use tokio::{net::TcpSocket, sync::Semaphore};
use tokio_tungstenite::{client_async, connect_async, tungstenite::Message};

use crate::helpers::TestPlatform;

/// Only the part of a tick these tests look at.
#[derive(Deserialize)]
struct Tick {
    seq: u64,
    at_ms: i64,
    sent_ms: i64,
    market: Option<String>,
    sources: Vec<String>,
    prices: Vec<serde_json::Value>,
}

/// A host and a recorder ticking every `tick_ms`; returns the platform and the host's
/// `address:port`.
async fn start_host(tick_ms: u64) -> (TestPlatform, String) {
    let platform = TestPlatform::host_and_recorder(|_| {}, |recorder| recorder.tick_ms = tick_ms).await;
    let addr = platform.host.trim_start_matches("http://").to_owned();
    (platform, addr)
}

/// Ticks as a browser shows them: each new one once (the host repeats the latest when no new
/// one comes, so that browsers can tell its age).
fn new_ticks(seen: &[u64]) -> Vec<u64> {
    let mut ticks = seen.to_vec();
    ticks.dedup();
    ticks
}

fn parse(message: Message) -> Option<Tick> {
    match message {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

#[tokio::test]
async fn a_new_subscriber_gets_the_latest_prices_at_once_then_every_tick() {
    let (_platform, addr) = start_host(100).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut socket, _) = connect_async(format!("ws://{addr}/ws/prices")).await.unwrap();
    let first =
        tokio::time::timeout(Duration::from_millis(50), socket.next()).await.expect("the latest tick comes at once");
    let first = parse(first.unwrap().unwrap()).unwrap();
    assert_eq!(first.prices.len(), solstice_types::Token::ALL.len(), "every token has a price");
    assert_eq!(first.market.as_deref(), Some("simulated"), "the simulated market says so");
    assert_eq!(first.sources, ["simulated"]);
    let mut seen = vec![first.seq];
    while new_ticks(&seen).len() < 6 {
        seen.push(parse(socket.next().await.unwrap().unwrap()).unwrap().seq);
    }
    let ticks = new_ticks(&seen);
    for pair in ticks.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "no tick is skipped: {seen:?}");
    }
}

#[tokio::test]
async fn two_hosts_push_the_same_ticks() {
    let (platform, addr) = start_host(100).await;
    let other = platform.another_host(|_| {}).await;
    let other = other.trim_start_matches("http://");
    let (mut a, _) = connect_async(format!("ws://{addr}/ws/prices")).await.unwrap();
    let (mut b, _) = connect_async(format!("ws://{other}/ws/prices")).await.unwrap();
    let collect = async |socket: &mut tokio_tungstenite::WebSocketStream<_>| {
        let mut ticks = std::collections::BTreeMap::new();
        while ticks.len() < 8 {
            let Some(Ok(Message::Text(text))) = socket.next().await else { panic!("the socket closed") };
            let tick: serde_json::Value = serde_json::from_str(&text).unwrap();
            ticks.insert(tick["seq"].as_u64().unwrap(), (tick["at_ms"].clone(), tick["prices"].clone()));
        }
        ticks
    };
    let (from_a, from_b) = (collect(&mut a).await, collect(&mut b).await);
    let common: Vec<_> = from_a.keys().filter(|seq| from_b.contains_key(seq)).collect();
    assert!(common.len() >= 4, "both hosts sent the same ticks: {:?} / {:?}", from_a.keys(), from_b.keys());
    for seq in common {
        assert_eq!(from_a[seq], from_b[seq], "tick {seq} is the same on both hosts");
    }
}

#[tokio::test]
async fn when_no_tick_comes_the_host_keeps_sending_the_last_one_with_its_age() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    // A recorder that records for a moment, then stops (as if its sources all went down).
    let config = solstice_recorder::Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    let started = solstice_recorder::build(config).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let recording = tokio::spawn(solstice_recorder::run(started, async move {
        let _ = stopped.await;
    }));
    let host = crate::helpers::start_host(database.name(), |_| {}).await;
    let addr = host.trim_start_matches("http://");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.send(()).unwrap();
    recording.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut socket, _) = connect_async(format!("ws://{addr}/ws/prices")).await.unwrap();
    let mut frames = Vec::new();
    while frames.len() < 3 {
        let frame = tokio::time::timeout(Duration::from_secs(3), socket.next()).await.expect("frames keep coming");
        frames.extend(parse(frame.unwrap().unwrap()));
    }
    assert!(frames.windows(2).all(|pair| pair[0].seq == pair[1].seq), "no new tick");
    let ages: Vec<i64> = frames.iter().map(|tick| tick.sent_ms - tick.at_ms).collect();
    assert!(ages.windows(2).all(|pair| pair[1] > pair[0]), "the age grows: {ages:?}");
    assert!(ages[2] >= 2_000, "{ages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_each_receive_every_tick_and_stalled_clients_hold_up_no_one() {
    const CLIENTS: usize = 1_000;
    const TICKS: usize = 15;
    // All from one address: this test raises the per-client cap, as the benchmark does.
    let _platform =
        TestPlatform::host_and_recorder(|host| host.ws_per_client = 2_000, |recorder| recorder.tick_ms = 200).await;
    let addr = _platform.host.trim_start_matches("http://").to_owned();
    let url = format!("ws://{addr}/ws/prices");

    // Clients that connect and then never read, with the smallest receive buffer the kernel allows.
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(1024).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        stalled.push(client_async(url.as_str(), stream).await.unwrap().0);
    }

    // Open the connections (a bounded number of handshakes at a time), then read them all.
    let handshakes = Arc::new(Semaphore::new(64));
    let mut connecting = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (url, handshakes) = (url.clone(), handshakes.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = handshakes.acquire().await.unwrap();
            connect_async(url).await.expect("connects").0
        }));
    }
    let mut sockets = Vec::with_capacity(CLIENTS);
    for connection in connecting {
        sockets.push(connection.await.unwrap());
    }

    // Each client reads until it has seen TICKS ticks after its first, recording every seq.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(Ok(message)) = socket.next().await {
                    if let Some(tick) = parse(message) {
                        seen.push(tick.seq);
                        if new_ticks(&seen).len() > TICKS {
                            break;
                        }
                    }
                }
                new_ticks(&seen)
            })
        })
        .collect();
    let deadline = Duration::from_secs(60);
    for reader in readers {
        let seen = tokio::time::timeout(deadline, reader).await.expect("every client finishes in time").unwrap();
        assert_eq!(seen.len(), TICKS + 1, "the client got all its ticks");
        for pair in seen.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "a tick was skipped: {seen:?}");
        }
    }
    drop(stalled);
}

#[tokio::test]
async fn charts_load_stored_history_that_expires() {
    let platform = TestPlatform::host_and_recorder(|_| {}, |recorder| recorder.backfill = true).await;
    let (base, database) = (&platform.host, &platform.database);

    let http = reqwest::Client::new();
    let mut candles = Vec::new();
    for _ in 0..120 {
        let response = http
            .post(format!("{base}/api/price_history"))
            .form(&[("token", "SOL"), ("interval", "1h")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        candles = response.json::<Vec<serde_json::Value>>().await.unwrap();
        if candles.len() >= 168 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(candles.len(), 168, "a week of hourly candles, the last one in progress");
    let mut previous_start = i64::MIN;
    for candle in &candles {
        let field = |name: &str| candle[name].as_u64().unwrap();
        assert!(field("low") <= field("open") && field("open") <= field("high"), "{candle}");
        assert!(field("low") <= field("close") && field("close") <= field("high"), "{candle}");
        let start = candle["start"].as_i64().unwrap();
        assert_eq!(start % 3_600, 0);
        assert!(start > previous_start, "sorted by time, no duplicates");
        previous_start = start;
    }

    let stored = database.collection::<mongodb::bson::Document>("price_candles");
    let without_expiry =
        stored.count_documents(mongodb::bson::doc! { "expires_at": { "$exists": false } }).await.unwrap();
    assert_eq!(without_expiry, 0, "every stored candle expires");

    let unknown = http
        .post(format!("{base}/api/price_history"))
        .form(&[("token", "DOGE"), ("interval", "1h")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), reqwest::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn on_shutdown_the_host_reports_not_ready_then_tells_subscribers_to_reconnect() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    crate::helpers::start_recorder(&database, |recorder| recorder.tick_ms = 100).await;
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    config.shutdown_delay_seconds = 1;
    let app = Application::build(config).await.expect("the host starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let (mut socket, _) = connect_async(format!("ws://{addr}/ws/prices")).await.unwrap();
    assert!(parse(socket.next().await.unwrap().unwrap()).is_some());

    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(draining.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE, "not ready while shutting down");
    // Still serving during the delay: prices keep coming until the socket is told to go.
    let mut ticks_while_draining = 0;
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Close(frame) => return frame,
                Message::Text(_) => ticks_while_draining += 1,
                _ => {}
            }
        }
        None
    })
    .await
    .expect("the close frame comes promptly")
    .expect("a close frame with a reason");
    assert!(ticks_while_draining >= 3, "ticks delivered during the shutdown delay: {ticks_while_draining}");
    assert_eq!(u16::from(close.code), 1001, "going away: reconnect elsewhere");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the host stops").unwrap().unwrap();
}
