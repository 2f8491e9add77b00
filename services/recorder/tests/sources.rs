//! The price sources against local fake servers that speak each exchange's documented
//! protocol: Kraken's websocket API v2 `ticker` channel and REST `OHLC` endpoint, and the
//! Coinbase Exchange websocket feed. The real exchanges cannot be reached from the test
//! machines; the fakes replay frames in the real formats, and also misbehave (malformed
//! frames, dropped connections, a stalled stream, rate limits).

mod fakes;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use fakes::{FakeRest, FakeWs, Socket, coinbase_ticker, kraken_ack, kraken_ticker, now_ms, recv_json};
use futures::SinkExt;
use serde_json::json;
use solstice_market::Interval;
use solstice_recorder::sources::{Board, Coinbase, Kraken, PriceSource, SourceError};
use solstice_types::{Token, UsdPrice};
use tokio_tungstenite::tungstenite::Message;

const FRESH: Duration = Duration::from_secs(10);

fn dollars(d: f64) -> UsdPrice {
    UsdPrice::from_picodollars((d * 1e12).round() as u64)
}

/// The price of `token` on `board` from `source`, if fresh.
fn price(board: &Board, token: Token, source: &str) -> Option<UsdPrice> {
    board.fresh(token, now_ms(), FRESH).into_iter().find(|(s, _)| *s == source).map(|(_, price)| price)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Reads Kraken's subscription request and acknowledges it, as Kraken does: one answer per symbol.
async fn kraken_subscribe(socket: &mut Socket) {
    let request = recv_json(socket).await;
    assert_eq!(request["method"], "subscribe");
    assert_eq!(request["params"]["channel"], "ticker");
    let symbols: Vec<String> =
        request["params"]["symbol"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    assert!(symbols.contains(&"SOL/USD".to_owned()) && symbols.contains(&"BONK/USD".to_owned()), "{symbols:?}");
    for symbol in symbols {
        socket.send(Message::text(kraken_ack(&symbol))).await.unwrap();
    }
}

#[tokio::test]
async fn kraken_prices_every_token_skips_malformed_frames_and_reconnects_after_a_drop() {
    let fake = FakeWs::start(|connection, mut socket| async move {
        kraken_subscribe(&mut socket).await;
        let status = r#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":18446744073709551615,"system":"online","version":"2.0.10"}]}"#;
        socket.send(Message::text(status)).await.unwrap();
        if connection == 0 {
            for (symbol, mid) in [
                ("SOL/USD", 150.0),
                ("USDC/USD", 1.0001),
                ("USDT/USD", 0.9998),
                ("JUP/USD", 0.55),
                ("BONK/USD", 0.00002134),
                ("RAY/USD", 2.1),
                ("JTO/USD", 2.3),
            ] {
                socket.send(Message::text(kraken_ticker("snapshot", symbol, mid))).await.unwrap();
            }
            socket.send(Message::text(r#"{"channel":"heartbeat"}"#)).await.unwrap();
            // Malformed or foreign frames change nothing.
            for junk in [
                "{not json",
                r#"{"channel":"ticker","type":"update","data":[{"symbol":"SOL/USD","last":"garbage"}]}"#,
                r#"{"channel":"ticker","type":"update","data":[{"symbol":"SOL/USD","bid":-5,"ask":-4}]}"#,
                r#"{"channel":"ticker","type":"update","data":[{"symbol":"DOGE/USD","bid":0.1,"ask":0.1}]}"#,
                r#"{"method":"subscribe","success":false,"error":"Currency pair not supported"}"#,
            ] {
                socket.send(Message::text(junk)).await.unwrap();
            }
            // Then the connection drops, without a close frame.
            tokio::time::sleep(Duration::from_millis(200)).await;
        } else {
            socket.send(Message::text(kraken_ticker("update", "SOL/USD", 151.5))).await.unwrap();
            loop {
                socket.send(Message::text(r#"{"channel":"heartbeat"}"#)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
    .await;
    let board = Board::default();
    let source = Arc::new(Kraken::new(fake.url(), "http://127.0.0.1:9"));
    let running = tokio::spawn({
        let (source, board) = (source.clone(), board.clone());
        async move { source.run(board).await }
    });
    eventually("every token priced", || Token::ALL.iter().all(|token| price(&board, *token, "kraken").is_some())).await;
    assert_eq!(price(&board, Token::Bonk, "kraken"), Some(dollars(0.00002134)));
    assert_eq!(price(&board, Token::Sol, "kraken"), Some(dollars(150.0)), "the middle of the book");
    // After the drop it reconnects (after a backoff of about a second) and reads on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(price(&board, Token::Sol, "kraken"), Some(dollars(150.0)), "malformed frames changed nothing");
    for _ in 0..60 {
        if price(&board, Token::Sol, "kraken") == Some(dollars(151.5)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(price(&board, Token::Sol, "kraken"), Some(dollars(151.5)));
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    running.abort();
}

#[tokio::test]
async fn a_stalled_stream_stops_vouching_for_its_prices_and_is_replaced() {
    let fake = FakeWs::start(|connection, mut socket| async move {
        kraken_subscribe(&mut socket).await;
        socket.send(Message::text(kraken_ticker("snapshot", "SOL/USD", 150.0 + connection as f64))).await.unwrap();
        // Then nothing at all, not even heartbeats, with the connection held open.
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let board = Board::default();
    let source = Kraken::new(fake.url(), "http://127.0.0.1:9").with_silence(Duration::from_millis(500));
    let running = tokio::spawn({
        let board = board.clone();
        async move { source.run(board).await }
    });
    eventually("a first price", || price(&board, Token::Sol, "kraken").is_some()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let vouched = board.fresh(Token::Sol, now_ms(), Duration::from_millis(300));
    assert!(vouched.is_empty(), "a silent stream's price is not fresh: {vouched:?}");
    // The silence is noticed and the source connects again.
    for _ in 0..60 {
        if fake.connections.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fake.connections.load(Ordering::SeqCst) >= 2, "reconnected after the stall");
    eventually("the new connection's price", || price(&board, Token::Sol, "kraken") == Some(dollars(151.0))).await;
    running.abort();
}

#[tokio::test]
async fn coinbase_prices_from_ticker_messages_and_heartbeats_vouch_for_them() {
    let fake = FakeWs::start(|_, mut socket| async move {
        let request = recv_json(&mut socket).await;
        assert_eq!(request["type"], "subscribe");
        let channels: Vec<&str> =
            request["channels"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(channels, ["ticker", "heartbeat"]);
        let products = request["channels"][0]["product_ids"].as_array().unwrap().clone();
        assert!(products.contains(&json!("SOL-USD")) && !products.contains(&json!("USDC-USD")), "{products:?}");
        let ack = json!({ "type": "subscriptions", "channels": request["channels"] });
        socket.send(Message::text(ack.to_string())).await.unwrap();
        socket.send(Message::text(coinbase_ticker("SOL-USD", "149.98", "150.02"))).await.unwrap();
        socket.send(Message::text(coinbase_ticker("BONK-USD", "0.00002133", "0.00002135"))).await.unwrap();
        for junk in [
            r#"{"type":"error","message":"Failed to subscribe","reason":"JUPITER-USD is not available"}"#,
            r#"{"type":"ticker","product_id":"SOL-USD","price":"abc","best_bid":"x","best_ask":"y"}"#,
            "]]",
        ] {
            socket.send(Message::text(junk)).await.unwrap();
        }
        loop {
            let heartbeat = json!({ "type": "heartbeat", "sequence": 90, "last_trade_id": 20, "product_id": "SOL-USD", "time": "2026-11-30T12:00:00.000000Z" });
            socket.send(Message::text(heartbeat.to_string())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let board = Board::default();
    let source = Coinbase::new(fake.url());
    let running = tokio::spawn({
        let board = board.clone();
        async move { source.run(board).await }
    });
    eventually("SOL and BONK priced", || {
        price(&board, Token::Sol, "coinbase").is_some() && price(&board, Token::Bonk, "coinbase").is_some()
    })
    .await;
    assert_eq!(price(&board, Token::Sol, "coinbase"), Some(dollars(150.0)));
    assert_eq!(price(&board, Token::Bonk, "coinbase"), Some(dollars(0.00002134)));
    // SOL's heartbeats keep its price fresh; BONK has none, so its price ages.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let recent = Duration::from_millis(400);
    assert_eq!(board.fresh(Token::Sol, now_ms(), recent).len(), 1);
    assert!(board.fresh(Token::Bonk, now_ms(), recent).is_empty());
    running.abort();
}

#[tokio::test]
async fn kraken_history_comes_from_ohlc_and_rate_limits_are_told_apart() {
    let rest = FakeRest::start().await;
    rest.refusals.store(2, Ordering::SeqCst);
    let kraken = Kraken::new("ws://127.0.0.1:9", rest.url());
    // Kraken refuses with HTTP 429 or with an error in a 200 answer: both are rate limits.
    assert!(matches!(kraken.history(Token::Sol, Interval::FiveMinutes).await, Err(SourceError::RateLimited)));
    assert!(matches!(kraken.history(Token::Sol, Interval::FiveMinutes).await, Err(SourceError::RateLimited)));
    let candles = kraken.history(Token::Sol, Interval::FiveMinutes).await.unwrap();
    assert_eq!(rest.last_query.lock().unwrap().as_deref(), Some("pair=SOLUSD&interval=5"));
    assert_eq!(candles.len(), 10, "the candle in progress is left out");
    assert!(candles.windows(2).all(|pair| pair[1].start - pair[0].start == 300));
    assert!(candles.iter().all(|c| c.low <= c.open && c.open <= c.high && c.low <= c.close && c.close <= c.high));
    let unknown = kraken.history(Token::Jto, Interval::OneHour).await;
    assert!(matches!(unknown, Err(SourceError::Api(ref text)) if text.contains("Unknown asset pair")), "{unknown:?}");
}
