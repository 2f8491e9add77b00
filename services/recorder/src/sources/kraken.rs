//! Kraken: the public websocket API v2 `ticker` channel for live prices, and the public REST
//! `OHLC` endpoint for history. Neither needs a key.
//!
//! Ticker data carries prices as JSON numbers (`bid`, `ask`, `last`, ...); the recorder takes
//! the middle of the best bid and ask (asking for an update on every change of them), or the
//! last trade where there is no book. Kraken sends a `heartbeat` about every second while
//! subscribed, which vouches for the prices already received.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use solstice_market::{Candle, Interval};
use solstice_types::Token;

use super::{Board, PriceSource, SILENCE, SourceError, parse_price, stream_forever};

pub const WS_URL: &str = "wss://ws.kraken.com/v2";
pub const REST_URL: &str = "https://api.kraken.com";

/// Kraken's names for the tokens against the US dollar: websocket symbol, REST pair.
const PAIRS: [(Token, &str, &str); 7] = [
    (Token::Sol, "SOL/USD", "SOLUSD"),
    (Token::Usdc, "USDC/USD", "USDCUSD"),
    (Token::Usdt, "USDT/USD", "USDTUSD"),
    (Token::Jup, "JUP/USD", "JUPUSD"),
    (Token::Bonk, "BONK/USD", "BONKUSD"),
    (Token::Ray, "RAY/USD", "RAYUSD"),
    (Token::Jto, "JTO/USD", "JTOUSD"),
];

pub struct Kraken {
    ws_url: String,
    rest_url: String,
    http: reqwest::Client,
    /// A stream silent this long is taken as dead.
    silence: Duration,
}

impl Kraken {
    /// Takes the stream as dead after `silence` without a frame (default ten seconds).
    pub fn with_silence(mut self, silence: Duration) -> Kraken {
        self.silence = silence;
        self
    }

    pub fn new(ws_url: impl Into<String>, rest_url: impl Into<String>) -> Kraken {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
        Kraken {
            ws_url: ws_url.into(),
            rest_url: rest_url.into().trim_end_matches('/').to_owned(),
            http,
            silence: SILENCE,
        }
    }
}

/// The subscription to every token's ticker, updated on every change of the best bid or ask.
fn subscription() -> String {
    json!({
        "method": "subscribe",
        "params": {
            "channel": "ticker",
            "symbol": PAIRS.iter().map(|(_, symbol, _)| *symbol).collect::<Vec<_>>(),
            "event_trigger": "bbo",
        },
    })
    .to_string()
}

/// Reads one frame onto the board; false for a frame that is not understood.
fn handle(text: &str, board: &Board) -> bool {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return false };
    match frame.get("channel").and_then(Value::as_str) {
        Some("heartbeat") => {
            // The stream is live: the prices it sent still stand.
            board.vouch("kraken", &PAIRS.map(|(token, _, _)| token));
            true
        }
        Some("ticker") => {
            let mut any = false;
            let Some(data) = frame.get("data").and_then(Value::as_array) else { return false };
            for data in data {
                let Some(token) = data.get("symbol").and_then(Value::as_str).and_then(token_of) else { continue };
                let mid = match (data.get("bid").and_then(parse_price), data.get("ask").and_then(parse_price)) {
                    (Some(bid), Some(ask)) if bid <= ask => {
                        Some(solstice_types::UsdPrice::from_picodollars((bid.picodollars() + ask.picodollars()) / 2))
                    }
                    _ => None,
                };
                if let Some(price) = mid.or_else(|| data.get("last").and_then(parse_price)) {
                    board.report("kraken", token, price);
                    any = true;
                }
            }
            any
        }
        _ => {
            if frame.get("method").and_then(Value::as_str) == Some("subscribe")
                && frame.get("success").and_then(Value::as_bool) == Some(false)
            {
                let error = frame.get("error").cloned();
                tracing::warn!(error = ?error, "kraken refused a subscription");
            }
            false
        }
    }
}

fn token_of(symbol: &str) -> Option<Token> {
    PAIRS.iter().find(|(_, s, _)| *s == symbol).map(|(token, _, _)| *token)
}

#[async_trait]
impl PriceSource for Kraken {
    fn name(&self) -> &'static str {
        "kraken"
    }

    async fn run(&self, board: Board) {
        stream_forever("kraken", &self.ws_url, self.silence, subscription(), |text| handle(text, &board)).await;
    }

    async fn history(&self, token: Token, interval: Interval) -> Result<Vec<Candle>, SourceError> {
        let pair =
            PAIRS.iter().find(|(t, _, _)| *t == token).map(|(_, _, pair)| *pair).expect("every token has a pair");
        let minutes = interval.seconds() / 60;
        let response = self
            .http
            .get(format!("{}/0/public/OHLC", self.rest_url))
            .query(&[("pair", pair.to_owned()), ("interval", minutes.to_string())])
            .send()
            .await
            .map_err(|error| SourceError::Unreachable(error.to_string()))?;
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(SourceError::RateLimited);
        }
        if !response.status().is_success() {
            return Err(SourceError::Api(format!("HTTP {}", response.status().as_u16())));
        }
        let body: Value = response.json().await.map_err(|error| SourceError::Malformed(error.to_string()))?;
        let now = super::now_ms().div_euclid(1_000);
        parse_ohlc(&body, interval.start_of(now))
    }
}

/// An OHLC answer's closed candles (those starting before `current`), oldest first.
fn parse_ohlc(body: &Value, current: i64) -> Result<Vec<Candle>, SourceError> {
    if let Some(errors) = body.get("error").and_then(Value::as_array).filter(|errors| !errors.is_empty()) {
        let text = errors.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ");
        return Err(if text.contains("Too many requests") || text.contains("Rate limit") {
            SourceError::RateLimited
        } else {
            SourceError::Api(text)
        });
    }
    let result =
        body.get("result").and_then(Value::as_object).ok_or_else(|| SourceError::Malformed("no result".into()))?;
    // The result is keyed by Kraken's own name of the pair, besides `last`.
    let rows = result
        .iter()
        .find(|(key, _)| *key != "last")
        .and_then(|(_, rows)| rows.as_array())
        .ok_or_else(|| SourceError::Malformed("no candles".into()))?;
    let mut candles = Vec::with_capacity(rows.len());
    for row in rows {
        let row = row.as_array().ok_or_else(|| SourceError::Malformed("a candle is not a list".into()))?;
        let field = |i: usize| row.get(i).and_then(parse_price);
        let start = row.first().and_then(Value::as_i64);
        let (Some(start), Some(open), Some(high), Some(low), Some(close)) =
            (start, field(1), field(2), field(3), field(4))
        else {
            return Err(SourceError::Malformed(format!("a candle does not parse: {}", Value::Array(row.clone()))));
        };
        if start < current && low <= high {
            candles.push(Candle { start, open, high, low, close });
        }
    }
    candles.sort_by_key(|candle| candle.start);
    candles.dedup_by_key(|candle| candle.start);
    Ok(candles)
}

#[cfg(test)]
mod tests {
    use solstice_types::UsdPrice;

    use super::*;

    fn dollars(picos: u64) -> UsdPrice {
        UsdPrice::from_picodollars(picos)
    }

    #[test]
    fn ticker_frames_put_the_middle_of_the_book_on_the_board() {
        let board = Board::default();
        let frame = r#"{"channel":"ticker","type":"update","data":[{"symbol":"SOL/USD","bid":150.0,"bid_qty":1.2,"ask":150.2,"ask_qty":3.0,"last":150.1,"volume":1000.5,"vwap":149.0,"low":140.0,"high":155.0,"change":1.1,"change_pct":0.74}]}"#;
        assert!(handle(frame, &board));
        let fresh = board.fresh(Token::Sol, super::super::now_ms(), Duration::from_secs(10));
        assert_eq!(fresh, [("kraken", dollars(150_100_000_000_000))]);
    }

    #[test]
    fn frames_that_do_not_parse_change_nothing() {
        let board = Board::default();
        for frame in [
            "not json",
            r#"{"channel":"ticker","type":"update","data":[{"symbol":"SOL/USD","last":"garbage"}]}"#,
            r#"{"channel":"ticker","type":"update","data":[{"symbol":"DOGE/USD","last":0.1}]}"#,
            r#"{"channel":"ticker","data":"nope"}"#,
            r#"{"channel":"status","type":"update","data":[{"system":"online","connection_id":18446744073709551615}]}"#,
        ] {
            assert!(!handle(frame, &board), "{frame}");
        }
        assert!(board.fresh(Token::Sol, super::super::now_ms(), Duration::from_secs(10)).is_empty());
    }

    #[test]
    fn ohlc_answers_give_closed_candles_and_errors_are_told_apart() {
        let body = serde_json::json!({
            "error": [],
            "result": {
                "SOLUSD": [
                    [1_800_000_000, "150.10", "151.00", "149.50", "150.80", "150.2", "12.5", 40],
                    [1_800_000_060, "150.80", "152.00", "150.00", "151.90", "151.0", "8.0", 22],
                    [1_800_000_120, "151.90", "151.90", "151.90", "151.90", "151.9", "0.1", 1]
                ],
                "last": 1_800_000_060
            }
        });
        let candles = parse_ohlc(&body, 1_800_000_120).unwrap();
        assert_eq!(candles.len(), 2, "the candle in progress is left out");
        assert_eq!(candles[1].close, dollars(151_900_000_000_000));
        let limited = serde_json::json!({ "error": ["EGeneral:Too many requests"] });
        assert!(matches!(parse_ohlc(&limited, 0), Err(SourceError::RateLimited)));
        let unknown = serde_json::json!({ "error": ["EQuery:Unknown asset pair"] });
        assert!(matches!(parse_ohlc(&unknown, 0), Err(SourceError::Api(_))));
        let broken = serde_json::json!({ "error": [], "result": { "SOLUSD": [[1, "x"]] } });
        assert!(matches!(parse_ohlc(&broken, 10), Err(SourceError::Malformed(_))));
    }
}
