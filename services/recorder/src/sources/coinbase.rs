//! Coinbase: the Exchange's public websocket feed, `ticker` and `heartbeat` channels (no key).
//!
//! Ticker messages carry prices as decimal strings (`price`, `best_bid`, `best_ask`); the
//! recorder takes the middle of the best bid and ask, or the last trade's price. The heartbeat
//! channel sends one message a second per product, which vouches for that product's price.
//! USDC has no product (Coinbase treats it as the dollar itself), so Coinbase prices six of
//! the seven tokens.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use solstice_market::{Candle, Interval};
use solstice_types::{Token, UsdPrice};

use super::{Board, PriceSource, SILENCE, SourceError, parse_price, stream_forever};

pub const WS_URL: &str = "wss://ws-feed.exchange.coinbase.com";

/// Coinbase's product ids of the tokens against the US dollar.
const PRODUCTS: [(Token, &str); 6] = [
    (Token::Sol, "SOL-USD"),
    (Token::Usdt, "USDT-USD"),
    (Token::Jup, "JUPITER-USD"),
    (Token::Bonk, "BONK-USD"),
    (Token::Ray, "RAY-USD"),
    (Token::Jto, "JTO-USD"),
];

pub struct Coinbase {
    ws_url: String,
    /// A stream silent this long is taken as dead.
    silence: Duration,
}

impl Coinbase {
    /// Takes the stream as dead after `silence` without a frame (default ten seconds).
    pub fn with_silence(mut self, silence: Duration) -> Coinbase {
        self.silence = silence;
        self
    }

    pub fn new(ws_url: impl Into<String>) -> Coinbase {
        Coinbase { ws_url: ws_url.into(), silence: SILENCE }
    }
}

/// The subscription to every product's ticker and heartbeat.
fn subscription() -> String {
    let products: Vec<&str> = PRODUCTS.iter().map(|(_, product)| *product).collect();
    json!({
        "type": "subscribe",
        "channels": [
            { "name": "ticker", "product_ids": products },
            { "name": "heartbeat", "product_ids": products },
        ],
    })
    .to_string()
}

/// Reads one message onto the board; false for one that is not understood.
fn handle(text: &str, board: &Board) -> bool {
    let Ok(message) = serde_json::from_str::<Value>(text) else { return false };
    let token = message.get("product_id").and_then(Value::as_str).and_then(token_of);
    match (message.get("type").and_then(Value::as_str), token) {
        (Some("ticker"), Some(token)) => {
            let mid =
                match (message.get("best_bid").and_then(parse_price), message.get("best_ask").and_then(parse_price)) {
                    (Some(bid), Some(ask)) if bid <= ask => {
                        Some(UsdPrice::from_picodollars((bid.picodollars() + ask.picodollars()) / 2))
                    }
                    _ => None,
                };
            match mid.or_else(|| message.get("price").and_then(parse_price)) {
                Some(price) => {
                    board.report("coinbase", token, price);
                    true
                }
                None => false,
            }
        }
        (Some("heartbeat"), Some(token)) => {
            board.vouch("coinbase", &[token]);
            true
        }
        (Some("error"), _) => {
            let (text, reason) = (message.get("message").cloned(), message.get("reason").cloned());
            tracing::warn!(message = ?text, reason = ?reason, "coinbase answered with an error");
            false
        }
        _ => false,
    }
}

fn token_of(product: &str) -> Option<Token> {
    PRODUCTS.iter().find(|(_, p)| *p == product).map(|(token, _)| *token)
}

#[async_trait]
impl PriceSource for Coinbase {
    fn name(&self) -> &'static str {
        "coinbase"
    }

    async fn run(&self, board: Board) {
        stream_forever("coinbase", &self.ws_url, self.silence, subscription(), |text| handle(text, &board)).await;
    }

    /// History comes from Kraken; Coinbase only streams.
    async fn history(&self, _token: Token, _interval: Interval) -> Result<Vec<Candle>, SourceError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_messages_put_prices_on_the_board_and_junk_does_not() {
        let board = Board::default();
        let ticker = r#"{"type":"ticker","sequence":37475248783,"product_id":"BONK-USD","price":"0.00002134","open_24h":"0.00002","volume_24h":"1","low_24h":"0.00002","high_24h":"0.000022","best_bid":"0.00002133","best_ask":"0.00002135","side":"buy","time":"2026-11-30T10:00:00.000000Z","trade_id":1,"last_size":"100"}"#;
        assert!(handle(ticker, &board));
        let fresh = board.fresh(Token::Bonk, super::super::now_ms(), Duration::from_secs(10));
        assert_eq!(fresh, [("coinbase", UsdPrice::from_picodollars(21_340_000))]);
        for junk in [
            "{",
            r#"{"type":"ticker","product_id":"SOL-USD","price":"-3"}"#,
            r#"{"type":"ticker","product_id":"DOGE-USD","price":"0.1"}"#,
            r#"{"type":"subscriptions","channels":[]}"#,
            r#"{"type":"error","message":"Failed to subscribe","reason":"JUPITER-USD is delisted"}"#,
        ] {
            assert!(!handle(junk, &board), "{junk}");
        }
        assert!(board.fresh(Token::Sol, super::super::now_ms(), Duration::from_secs(10)).is_empty());
    }
}
