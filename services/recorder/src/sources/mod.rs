//! Price sources: where the recorder takes prices from.
//!
//! Every source runs as a task that keeps a connection to its exchange (reconnecting with
//! backoff, and treating a silent stream as dead) and reports every price it receives on the
//! shared [`Board`]. The recorder reads the board once a second and combines what is fresh.

pub mod coinbase;
pub mod kraken;
mod simulated;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
pub use coinbase::Coinbase;
pub use kraken::Kraken;
pub use simulated::Simulated;
use solstice_market::{Candle, Interval};
use solstice_types::{Token, UsdPrice};

/// A source of prices.
#[async_trait]
pub trait PriceSource: Send + Sync + 'static {
    /// Its name, as ticks record it and the UI shows it ("kraken").
    fn name(&self) -> &'static str;

    /// Streams prices onto `board` until the task is dropped, reconnecting as needed.
    async fn run(&self, board: Board);

    /// Puts what the source knows without waiting on `board` at once (a computed source's
    /// current prices); nothing for a source that must be asked.
    fn prime(&self, _board: &Board) {}

    /// The price of `token` at a past second, where the source can compute it (the simulated
    /// market); `None` for a source that would have to be asked.
    fn past_price(&self, _token: Token, _unix_second: i64) -> Option<UsdPrice> {
        None
    }

    /// Closed candles of `token` in `interval` before now, oldest first, to fill an empty
    /// store's charts; a source without history returns none.
    async fn history(&self, token: Token, interval: Interval) -> Result<Vec<Candle>, SourceError>;
}

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("rate limited by the source")]
    RateLimited,
    #[error("the source answered with an error: {0}")]
    Api(String),
    #[error("the source's answer did not parse: {0}")]
    Malformed(String),
    #[error("the source could not be reached: {0}")]
    Unreachable(String),
}

/// The latest price of each token from each source, and when the source last vouched for it
/// (a new price, or a heartbeat of a stream that is still live).
#[derive(Clone, Default)]
pub struct Board {
    prices: Arc<Mutex<HashMap<(&'static str, Token), Observation>>>,
}

#[derive(Debug, Clone, Copy)]
struct Observation {
    price: UsdPrice,
    at_ms: i64,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Board {
    /// A price of `token` from `source`, received now.
    pub fn report(&self, source: &'static str, token: Token, price: UsdPrice) {
        self.prices.lock().expect("board lock").insert((source, token), Observation { price, at_ms: now_ms() });
    }

    /// `source`'s stream is live (a heartbeat): its prices for `tokens` still stand.
    pub fn vouch(&self, source: &'static str, tokens: &[Token]) {
        let now = now_ms();
        let mut prices = self.prices.lock().expect("board lock");
        for token in tokens {
            if let Some(observation) = prices.get_mut(&(source, *token)) {
                observation.at_ms = now;
            }
        }
    }

    /// The prices of `token` that some source vouched for within `freshness` of `now_ms`,
    /// by source name.
    pub fn fresh(&self, token: Token, now_ms: i64, freshness: Duration) -> Vec<(&'static str, UsdPrice)> {
        let oldest = now_ms - freshness.as_millis() as i64;
        let mut fresh: Vec<(&'static str, UsdPrice)> = self
            .prices
            .lock()
            .expect("board lock")
            .iter()
            .filter(|((_, t), observation)| *t == token && observation.at_ms >= oldest)
            .map(|((source, _), observation)| (*source, observation.price))
            .collect();
        fresh.sort_by_key(|(source, _)| *source);
        fresh
    }

    /// When `source` last vouched for any price, if ever.
    pub fn last_heard(&self, source: &str) -> Option<i64> {
        let prices = self.prices.lock().expect("board lock");
        prices.iter().filter(|((s, _), _)| *s == source).map(|(_, observation)| observation.at_ms).max()
    }
}

/// A price in dollars as a source writes it ("151.23", 151.23, 2.134e-5), in picodollars;
/// `None` for anything that is not a positive, finite, sane price.
pub fn parse_price(value: &serde_json::Value) -> Option<UsdPrice> {
    let dollars = match value {
        serde_json::Value::Number(number) => number.as_f64()?,
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    // Above ten million dollars a token, or below a picodollar, is a broken feed.
    if !dollars.is_finite() || dollars <= 0.0 || dollars > 1e7 {
        return None;
    }
    let picos = (dollars * 1e12).round();
    (picos >= 1.0).then(|| UsdPrice::from_picodollars(picos as u64))
}

/// Waits between reconnection attempts: doubling from one second to thirty, with jitter so
/// that many recorders do not reconnect in step.
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const LAST: Duration = Duration::from_secs(30);

    pub fn new() -> Backoff {
        Backoff { next: Backoff::FIRST }
    }

    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }

    pub async fn wait(&mut self) {
        let jitter = rand::random::<f64>() * 0.5 + 0.75;
        tokio::time::sleep(self.next.mul_f64(jitter)).await;
        self.next = (self.next * 2).min(Backoff::LAST);
    }
}

/// A stream that sends nothing (not even a heartbeat) for this long is dead: reconnect.
pub(crate) const SILENCE: Duration = Duration::from_secs(10);

/// A websocket subscription kept up for good: connects to `url`, sends `subscribe`, and hands
/// every text frame to `read` (which says whether the frame was understood) until the
/// connection fails or stays silent for `silence`; then waits (with backoff, reset by every
/// understood frame) and connects again.
pub(crate) async fn stream_forever(
    source: &'static str,
    url: &str,
    silence: Duration,
    subscribe: String,
    mut read: impl FnMut(&str) -> bool,
) {
    let mut backoff = Backoff::new();
    loop {
        if let Err(error) = stream_once(source, url, silence, &subscribe, &mut read, &mut backoff).await {
            tracing::warn!(source, error = %error, "price stream interrupted; reconnecting");
        }
        backoff.wait().await;
    }
}

async fn stream_once(
    source: &'static str,
    url: &str,
    silence: Duration,
    subscribe: &str,
    read: &mut impl FnMut(&str) -> bool,
    backoff: &mut Backoff,
) -> Result<(), String> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let connect = tokio_tungstenite::connect_async(url);
    let (mut socket, _) = tokio::time::timeout(silence.max(SILENCE), connect)
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|error| error.to_string())?;
    socket.send(Message::text(subscribe)).await.map_err(|error| error.to_string())?;
    loop {
        let message = match tokio::time::timeout(silence, socket.next()).await {
            Err(_) => return Err("the stream fell silent".into()),
            Ok(None) => return Err("the connection closed".into()),
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(Some(Ok(message))) => message,
        };
        let Message::Text(text) = message else { continue };
        if read(&text) {
            backoff.reset();
        } else {
            tracing::debug!(source, frame = %text.as_str().chars().take(200).collect::<String>(), "frame ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prices_parse_from_numbers_and_text_and_nonsense_is_refused() {
        assert_eq!(parse_price(&json!(151.23)), Some(UsdPrice::from_picodollars(151_230_000_000_000)));
        assert_eq!(parse_price(&json!("0.00002134")), Some(UsdPrice::from_picodollars(21_340_000)));
        for bad in [json!(0), json!(-1.5), json!("abc"), json!(null), json!(1e9), json!("NaN"), json!([1])] {
            assert_eq!(parse_price(&bad), None, "{bad}");
        }
    }

    #[test]
    fn only_prices_vouched_for_recently_are_fresh() {
        let board = Board::default();
        let price = UsdPrice::from_picodollars(1);
        board.report("kraken", Token::Sol, price);
        board.report("coinbase", Token::Sol, price);
        let now = now_ms();
        assert_eq!(board.fresh(Token::Sol, now, Duration::from_secs(10)).len(), 2);
        assert!(board.fresh(Token::Sol, now + 10_500, Duration::from_secs(10)).is_empty());
        assert!(board.fresh(Token::Jup, now, Duration::from_secs(10)).is_empty());
    }
}
