//! The market recorder against a real database: the live market from fake sources (combined,
//! disagreement marked, history back-filled, an outage and the recovery), and fail-over
//! between two recorders when the leader dies.

mod fakes;

use std::time::Duration;

use fakes::{FakeRest, FakeWs, coinbase_ticker, kraken_ack, kraken_ticker, now_ms, recv_json};
use futures::SinkExt;
use mongodb::Database;
use serde_json::json;
use solstice_market::{Interval, MarketKind, MarketTick, store::MarketStore};
use solstice_recorder::{Config, MarketChoice, SourceName};
use solstice_types::{Token, UsdPrice};
use tokio_tungstenite::tungstenite::Message;

fn dollars(d: f64) -> UsdPrice {
    UsdPrice::from_picodollars((d * 1e12).round() as u64)
}

/// A fake Kraken pricing every token, with a heartbeat every 200 ms.
async fn kraken() -> FakeWs {
    FakeWs::start(|_, mut socket| async move {
        let request = recv_json(&mut socket).await;
        for symbol in request["params"]["symbol"].as_array().unwrap() {
            socket.send(Message::text(kraken_ack(symbol.as_str().unwrap()))).await.unwrap();
        }
        for (symbol, mid) in [
            ("SOL/USD", 150.0),
            ("USDC/USD", 1.0),
            ("USDT/USD", 1.0),
            ("JUP/USD", 0.55),
            ("BONK/USD", 0.00002134),
            ("RAY/USD", 2.1),
            ("JTO/USD", 2.3),
        ] {
            socket.send(Message::text(kraken_ticker("snapshot", symbol, mid))).await.unwrap();
        }
        loop {
            socket.send(Message::text(r#"{"channel":"heartbeat"}"#)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

/// A fake Coinbase pricing SOL a little above Kraken and JUP far from it, with heartbeats.
async fn coinbase() -> FakeWs {
    FakeWs::start(|_, mut socket| async move {
        let request = recv_json(&mut socket).await;
        let ack = json!({ "type": "subscriptions", "channels": request["channels"] });
        socket.send(Message::text(ack.to_string())).await.unwrap();
        socket.send(Message::text(coinbase_ticker("SOL-USD", "150.99", "151.01"))).await.unwrap();
        socket.send(Message::text(coinbase_ticker("JUPITER-USD", "0.5999", "0.6001"))).await.unwrap();
        loop {
            for product in ["SOL-USD", "JUPITER-USD"] {
                let heartbeat = json!({ "type": "heartbeat", "sequence": 1, "last_trade_id": 1, "product_id": product, "time": "2026-11-30T12:00:00Z" });
                socket.send(Message::text(heartbeat.to_string())).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

async fn latest(database: &Database) -> Option<MarketTick> {
    MarketStore::new(database).latest().await.unwrap()
}

async fn wait_for(what: &str, seconds: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn the_live_market_combines_its_sources_and_goes_stale_and_live_again_with_them() {
    let (kraken, coinbase, rest) = (kraken().await, coinbase().await, FakeRest::start().await);
    rest.refusals.store(1, std::sync::atomic::Ordering::SeqCst);
    let (_client, database) = solstice_testkit::fresh_database().await;
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    config.market = MarketChoice::Live;
    config.sources = vec![SourceName::Kraken, SourceName::Coinbase];
    config.kraken_ws_url = kraken.url();
    config.kraken_rest_url = rest.url();
    config.coinbase_ws_url = coinbase.url();
    config.freshness_seconds = 1;
    config.tick_ms = 200;
    config.backfill = true;
    let started = solstice_recorder::build(config).await.unwrap();
    tokio::spawn(solstice_recorder::run(started, std::future::pending()));

    wait_for("a tick priced by both sources", 10, async || {
        latest(&database).await.and_then(|tick| tick.price(Token::Sol).map(|p| p.sources.len() == 2)).unwrap_or(false)
    })
    .await;
    let tick = latest(&database).await.unwrap();
    assert_eq!(tick.market, MarketKind::Live);
    assert_eq!(tick.sources(), ["coinbase", "kraken"]);
    assert_eq!(tick.prices.len(), Token::ALL.len(), "{tick:?}");
    let sol = tick.price(Token::Sol).unwrap();
    assert_eq!(sol.price, dollars(150.5), "the two sources' middle");
    assert!(!sol.suspect, "0.67 % apart is agreement");
    let jup = tick.price(Token::Jup).unwrap();
    assert!(jup.suspect, "0.55 and 0.60 are too far apart: {jup:?}");
    assert_eq!(tick.price(Token::Usdc).unwrap().sources, ["kraken"], "Coinbase has no USDC price");

    // The charts of the empty store were back-filled from Kraken's OHLC (after a rate limit).
    let store = MarketStore::new(&database);
    wait_for("SOL's hours back-filled", 15, async || {
        store.candle_count(Token::Sol, Interval::OneHour).await.unwrap() >= 10
    })
    .await;

    // Every source goes down: no more ticks (prices go stale everywhere).
    kraken.set_down(true);
    coinbase.set_down(true);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let last = latest(&database).await.unwrap().seq;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(latest(&database).await.unwrap().seq, last, "no tick without a fresh price");

    // They come back: ticks again, with no restart.
    kraken.set_down(false);
    coinbase.set_down(false);
    wait_for("ticks again", 15, async || latest(&database).await.is_some_and(|tick| tick.seq > last)).await;
    let back = latest(&database).await.unwrap();
    assert!(now_ms() - back.at_ms < 1_000);
}

#[tokio::test]
async fn when_the_leader_dies_the_other_recorder_takes_over_without_a_gap_or_a_broken_candle() {
    let (_client, database) = solstice_testkit::fresh_database().await;
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    config.lease_seconds = 2;
    config.tick_ms = 250;
    let first = solstice_recorder::build(config.clone()).await.unwrap();
    let first_status = first.status.clone();
    let leader = tokio::spawn(solstice_recorder::run(first, std::future::pending()));
    wait_for("a first tick", 5, async || latest(&database).await.is_some()).await;
    let second = solstice_recorder::build(config).await.unwrap();
    let second_status = second.status.clone();
    tokio::spawn(solstice_recorder::run(second, std::future::pending()));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(first_status.lock().unwrap().leading && !second_status.lock().unwrap().leading);
    let old_term = first_status.lock().unwrap().term.unwrap();

    // The leader dies without a word (as with SIGKILL: its lease is not released).
    let killed_at = now_ms();
    leader.abort();
    wait_for("the other recorder leading", 5, async || second_status.lock().unwrap().leading).await;
    assert!(second_status.lock().unwrap().term.unwrap() > old_term, "a new term fences the old leader off");

    // Run on until the minute of the fail-over has closed.
    let minute = Interval::OneMinute.start_of(killed_at / 1_000);
    let closed_at = (minute + 60) * 1_000 + 1_500;
    tokio::time::sleep(Duration::from_millis((closed_at - now_ms()).max(0) as u64)).await;

    let store = MarketStore::new(&database);
    let ticks = store.since(0).await.unwrap();
    for pair in ticks.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "ticks are numbered without a hole or a repeat");
        assert!(pair[1].term >= pair[0].term);
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!(gap <= 3_000, "at most the lease (2 s) and a second between ticks, not {gap} ms");
    }
    // The minute the leader died in is one whole candle: both leaders' ticks, none lost.
    let in_minute: Vec<UsdPrice> = ticks
        .iter()
        .filter(|tick| tick.at_ms.div_euclid(60_000) * 60 == minute)
        .map(|tick| tick.price(Token::Sol).unwrap().price)
        .collect();
    let candles = store.candles(Token::Sol, Interval::OneMinute, minute, minute + 60).await.unwrap();
    assert_eq!(candles.len(), 1, "one candle for the minute");
    let candle = candles[0];
    assert_eq!(candle.open, in_minute[0], "opened with the first leader's first tick");
    assert_eq!(candle.close, *in_minute.last().unwrap());
    assert_eq!(candle.high, *in_minute.iter().max().unwrap());
    assert_eq!(candle.low, *in_minute.iter().min().unwrap());
}
