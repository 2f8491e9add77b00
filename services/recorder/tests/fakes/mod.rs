//! Local fakes of the price sources, speaking their documented protocols.

#![allow(dead_code)] // Each test file uses a part.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_tungstenite::{WebSocketStream, accept_async, tungstenite::Message};

pub type Socket = WebSocketStream<tokio::net::TcpStream>;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A websocket server that runs `script` for each connection (numbered from 0). While it is
/// down, its connections are cut and new ones refused.
pub struct FakeWs {
    addr: std::net::SocketAddr,
    pub connections: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FakeWs {
    pub async fn start<F, Fut>(script: F) -> FakeWs
    where
        F: Fn(usize, Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (count, is_down, running) = (connections.clone(), down.clone(), tasks.clone());
        let script = Arc::new(script);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                if is_down.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let number = count.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                running.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(socket) = accept_async(stream).await {
                        script(number, socket).await;
                    }
                }));
            }
        });
        FakeWs { addr, connections, down, tasks }
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Cuts every connection and refuses new ones (`true`), or accepts them again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            for task in self.tasks.lock().unwrap().drain(..) {
                task.abort();
            }
        }
    }
}

/// The next text frame, as JSON.
pub async fn recv_json(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("the client went away: {other:?}"),
        }
    }
}

/// A price a little below and above `mid`, exactly representable: the best bid and ask.
fn spread(mid: f64) -> (f64, f64) {
    let picos = (mid * 1e12).round() as i64;
    let step = 10i64.pow((picos as f64).log10().floor() as u32 - 3);
    ((picos - step) as f64 / 1e12, (picos + step) as f64 / 1e12)
}

/// Kraken's acknowledgement of a ticker subscription for `symbol`.
pub fn kraken_ack(symbol: &str) -> String {
    json!({
        "method": "subscribe",
        "result": { "channel": "ticker", "event_trigger": "bbo", "snapshot": true, "symbol": symbol },
        "success": true,
        "time_in": "2026-11-30T12:00:00.000000Z",
        "time_out": "2026-11-30T12:00:00.000100Z"
    })
    .to_string()
}

/// A Kraken v2 ticker frame (`snapshot` or `update`) whose book is centred on `mid`; its last
/// trade is elsewhere, so that a test can tell which one the adapter took.
pub fn kraken_ticker(kind: &str, symbol: &str, mid: f64) -> String {
    let (bid, ask) = spread(mid);
    json!({
        "channel": "ticker",
        "type": kind,
        "data": [{
            "symbol": symbol, "bid": bid, "bid_qty": 12.5, "ask": ask, "ask_qty": 3.1, "last": ask * 1.01,
            "volume": 104_812.3, "vwap": mid, "low": mid * 0.95, "high": mid * 1.05, "change": mid * 0.01,
            "change_pct": 1.0
        }]
    })
    .to_string()
}

/// A Coinbase Exchange ticker message for `product` with its best bid and ask (strings, as
/// Coinbase sends them); the last trade at the bid.
pub fn coinbase_ticker(product: &str, bid: &str, ask: &str) -> String {
    json!({
        "type": "ticker", "sequence": 37_475_248_783u64, "product_id": product, "price": bid,
        "open_24h": bid, "volume_24h": "1000.0", "low_24h": bid, "high_24h": ask, "volume_30d": "30000.0",
        "best_bid": bid, "best_bid_size": "1.0", "best_ask": ask, "best_ask_size": "2.0", "side": "buy",
        "time": "2026-11-30T12:00:00.000000Z", "trade_id": 1_234_567, "last_size": "0.5"
    })
    .to_string()
}

/// Kraken's REST API, `GET /0/public/OHLC`: refuses the first `refusals` requests (alternately
/// with HTTP 429 and with Kraken's own rate-limit error), knows every pair but JTOUSD.
pub struct FakeRest {
    addr: std::net::SocketAddr,
    pub refusals: Arc<AtomicUsize>,
    pub last_query: Arc<Mutex<Option<String>>>,
}

#[derive(Clone)]
struct RestState {
    refusals: Arc<AtomicUsize>,
    last_query: Arc<Mutex<Option<String>>>,
}

impl FakeRest {
    pub async fn start() -> FakeRest {
        let state = RestState { refusals: Arc::default(), last_query: Arc::default() };
        let router = Router::new().route("/0/public/OHLC", get(ohlc)).with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeRest { addr, refusals: state.refusals, last_query: state.last_query }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn ohlc(State(state): State<RestState>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    *state.last_query.lock().unwrap() = Some(query.clone());
    let refusals = state.refusals.load(Ordering::SeqCst);
    if refusals > 0 {
        state.refusals.store(refusals - 1, Ordering::SeqCst);
        if refusals % 2 == 0 {
            return StatusCode::TOO_MANY_REQUESTS.into_response();
        }
        return Json(json!({ "error": ["EGeneral:Too many requests"] })).into_response();
    }
    let param = |name: &str| {
        query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap_or_default().to_owned()
    };
    let pair = param("pair");
    if pair == "JTOUSD" {
        return Json(json!({ "error": ["EQuery:Unknown asset pair"] })).into_response();
    }
    let minutes: i64 = param("interval").parse().unwrap();
    let seconds = minutes * 60;
    let current = (now_ms() / 1_000).div_euclid(seconds) * seconds;
    let base = if pair == "SOLUSD" { 150.0 } else { 1.0 };
    // Ten closed candles and the one in progress, as Kraken answers (strings for prices).
    let rows: Vec<Value> = (0..=10)
        .rev()
        .map(|k| {
            let price = base + k as f64 * base / 1000.0;
            let p = |x: f64| format!("{x:.4}");
            json!([
                current - k * seconds,
                p(price),
                p(price * 1.002),
                p(price * 0.998),
                p(price * 1.001),
                p(price),
                "12.5",
                40
            ])
        })
        .collect();
    // Kraken keys the result by its own name of the pair, which may differ from the one asked.
    let key = if pair == "USDTUSD" { "USDTZUSD".to_owned() } else { pair };
    Json(json!({ "error": [], "result": { key: rows, "last": current - seconds } })).into_response()
}
