//! The host's price hub: takes a tick from the price feed every interval, keeps the latest,
//! fans it out to every websocket subscriber, and records candles in MongoDB for the charts.
//!
//! Each tick is serialised once and shared by all subscribers, and the broadcast never waits
//! for anyone: a slow subscriber skips ahead to newer ticks, a stalled one is dropped by its
//! connection task (see the host's websocket handler), and the rest are unaffected.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use axum::extract::ws::Utf8Bytes;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use solstice_market::{Candle, Interval, PriceFeed};
use solstice_types::{Token, UsdPrice};
use tokio::sync::broadcast;

use super::error::HostError;
use crate::model::{PriceTick, TokenPrice};

/// Collection of [`CandleDoc`].
pub const CANDLES: &str = "price_candles";
/// Ticks a subscriber may fall behind before it skips to the newest.
const BACKLOG: usize = 16;
const DAY: i64 = 86_400;

/// A stored candle. `_id` is `"{interval}:{TOKEN}:{start}"`; prices are picodollars.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CandleDoc {
    #[serde(rename = "_id")]
    id: String,
    token: Token,
    interval: Interval,
    start: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    /// Candles are kept for a bounded time (TTL index), longer for coarser intervals.
    expires_at: DateTime,
}

impl CandleDoc {
    fn new(token: Token, interval: Interval, candle: &Candle) -> CandleDoc {
        let keep_days = match interval {
            Interval::OneMinute => 2,
            Interval::FiveMinutes => 8,
            Interval::OneHour => 60,
        };
        let pico = |price: UsdPrice| price.picodollars().min(i64::MAX as u64) as i64;
        CandleDoc {
            id: candle_id(token, interval, candle.start),
            token,
            interval,
            start: candle.start,
            open: pico(candle.open),
            high: pico(candle.high),
            low: pico(candle.low),
            close: pico(candle.close),
            expires_at: DateTime::from_millis((candle.start + keep_days * DAY) * 1_000),
        }
    }

    fn candle(&self) -> Candle {
        let price = |picos: i64| UsdPrice::from_picodollars(picos.max(0) as u64);
        Candle {
            start: self.start,
            open: price(self.open),
            high: price(self.high),
            low: price(self.low),
            close: price(self.close),
        }
    }
}

fn is_only_duplicates(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        mongodb::error::ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure.write_errors.as_ref().is_some_and(|errors| errors.iter().all(|e| e.code == 11000))
        }
        _ => false,
    }
}

fn candle_id(token: Token, interval: Interval, start: i64) -> String {
    format!("{}:{token}:{start}", interval.label())
}

/// A tick as sent to subscribers: its sequence number and its JSON, encoded once for all and
/// shared (cloning the text only counts a reference: no subscriber gets a copy of its own).
pub type Frame = (u64, Utf8Bytes);

/// How the hub runs; the defaults suit production, tests tick faster.
#[derive(Debug, Clone)]
pub struct PriceConfig {
    pub tick_interval: Duration,
    /// Fill the charts' history from the feed at start-up, where the feed can tell the past.
    pub backfill: bool,
}

impl Default for PriceConfig {
    fn default() -> PriceConfig {
        PriceConfig { tick_interval: Duration::from_secs(1), backfill: true }
    }
}

/// The price hub; cheap to clone.
#[derive(Clone)]
pub struct PriceHub {
    inner: Arc<Inner>,
}

struct Inner {
    feed: Arc<dyn PriceFeed>,
    config: PriceConfig,
    latest: RwLock<Option<(Arc<PriceTick>, Utf8Bytes)>>,
    sender: broadcast::Sender<Frame>,
    candles: Collection<CandleDoc>,
    /// The candle in progress for each token and interval, and whether this process saw it
    /// from its start (a candle begun mid-interval, after a restart, is partial).
    current: Mutex<HashMap<(Token, Interval), (Candle, bool)>>,
    /// Set when the host shuts down: ticking stops and subscribers are told to reconnect.
    closed: tokio::sync::watch::Sender<bool>,
}

/// Samples per candle when a candle is computed from the feed rather than from live ticks.
const SAMPLES: i64 = 12;

/// A candle computed from the feed's past prices, where the feed can tell them.
fn candle_from_feed(feed: &dyn PriceFeed, token: Token, interval: Interval, start: i64) -> Option<Candle> {
    let step = interval.seconds() / SAMPLES;
    let mut candle: Option<Candle> = None;
    for i in 0..SAMPLES {
        let price = feed.price_at(token, start + i * step).ok()?;
        match candle.as_mut() {
            Some(candle) => candle.update(price),
            None => candle = Some(Candle::at(start, price)),
        }
    }
    candle
}

fn now_ms() -> i64 {
    DateTime::now().timestamp_millis()
}

impl PriceHub {
    pub fn new(feed: Arc<dyn PriceFeed>, database: &Database, config: PriceConfig) -> PriceHub {
        let (sender, _) = broadcast::channel(BACKLOG);
        PriceHub {
            inner: Arc::new(Inner {
                feed,
                config,
                latest: RwLock::new(None),
                sender,
                candles: database.collection(CANDLES),
                current: Mutex::new(HashMap::new()),
                closed: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let candles = &self.inner.candles;
        candles
            .create_index(IndexModel::builder().keys(doc! { "token": 1, "interval": 1, "start": 1 }).build())
            .await?;
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        candles.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        Ok(())
    }

    /// Starts ticking (and back-filling, if configured) in the background.
    pub fn start(&self) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(hub.inner.config.tick_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut seq = 0;
            let mut closed = hub.inner.closed.subscribe();
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = closed.wait_for(|closed| *closed) => return,
                }
                seq += 1;
                hub.tick(seq);
            }
        });
        if self.inner.config.backfill {
            let hub = self.clone();
            tokio::spawn(async move {
                if let Err(error) = hub.backfill().await {
                    tracing::warn!(error = %error, "price history back-fill failed");
                }
            });
        }
    }

    /// Stops ticking and tells every subscriber to close its connection (on shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Completes when the hub is closed.
    pub async fn closed(&self) {
        let mut closed = self.inner.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// The latest tick and a receiver for the following ones. A tick taken between the two
    /// steps can arrive twice; subscribers drop frames not newer than the last they sent.
    pub fn subscribe(&self) -> (Option<Frame>, broadcast::Receiver<Frame>) {
        let receiver = self.inner.sender.subscribe();
        let latest =
            self.inner.latest.read().expect("price lock").as_ref().map(|(tick, json)| (tick.seq, json.clone()));
        (latest, receiver)
    }

    /// The latest tick, or one taken now if the hub has not ticked yet.
    pub fn latest_or_now(&self) -> Arc<PriceTick> {
        if let Some((tick, _)) = self.inner.latest.read().expect("price lock").as_ref() {
            return tick.clone();
        }
        Arc::new(self.take_tick(0, now_ms()))
    }

    fn take_tick(&self, seq: u64, at_ms: i64) -> PriceTick {
        let second = at_ms.div_euclid(1_000);
        let feed = &self.inner.feed;
        let prices = Token::ALL
            .into_iter()
            .filter_map(|token| {
                let price = feed.price_at(token, second).ok()?;
                let change_24h_bps = feed.price_at(token, second - DAY).ok().map(|then| price.change_bps_since(then));
                Some(TokenPrice { token, price, change_24h_bps })
            })
            .collect();
        PriceTick { seq, at_ms, prices }
    }

    fn tick(&self, seq: u64) {
        let tick = self.take_tick(seq, now_ms());
        let json: Utf8Bytes = match serde_json::to_string(&tick) {
            Ok(json) => json.into(),
            Err(error) => {
                tracing::error!(error = %error, "could not encode a price tick");
                return;
            }
        };
        let finished = self.update_candles(&tick);
        *self.inner.latest.write().expect("price lock") = Some((Arc::new(tick), json.clone()));
        // No subscribers is fine: the send only fails when nobody listens.
        let _ = self.inner.sender.send((seq, json));
        if !finished.is_empty() {
            let hub = self.clone();
            tokio::spawn(async move { hub.store(finished).await });
        }
    }

    /// Folds a tick into the candles in progress; returns the candles it closed.
    ///
    /// A closed candle this process saw only part of is recomputed from the feed (when it can
    /// tell past prices) or not stored, so that a replica started mid-interval never overwrites
    /// a whole candle with a partial one.
    fn update_candles(&self, tick: &PriceTick) -> Vec<CandleDoc> {
        let second = tick.at_ms.div_euclid(1_000);
        let tick_seconds = self.inner.config.tick_interval.as_secs().max(1) as i64;
        let mut current = self.inner.current.lock().expect("candle lock");
        let mut finished = Vec::new();
        for TokenPrice { token, price, .. } in &tick.prices {
            for interval in Interval::ALL {
                let start = interval.start_of(second);
                match current.get_mut(&(*token, interval)) {
                    Some((candle, _)) if candle.start == start => candle.update(*price),
                    Some((candle, whole)) => {
                        let closed = if *whole {
                            Some(*candle)
                        } else {
                            candle_from_feed(self.inner.feed.as_ref(), *token, interval, candle.start)
                        };
                        finished.extend(closed.map(|closed| CandleDoc::new(*token, interval, &closed)));
                        *candle = Candle::at(start, *price);
                        *whole = true;
                    }
                    None => {
                        let whole = second - start <= tick_seconds;
                        current.insert((*token, interval), (Candle::at(start, *price), whole));
                    }
                }
            }
        }
        finished
    }

    /// Writes closed candles. Every replica computes the same ones, so writes are upserts by id.
    async fn store(&self, candles: Vec<CandleDoc>) {
        for candle in candles {
            let written = self.inner.candles.replace_one(doc! { "_id": &candle.id }, &candle).upsert(true).await;
            if let Err(error) = written {
                tracing::warn!(error = %error, candle = %candle.id, "could not store a candle");
            }
        }
    }

    /// A token's chart: stored candles of the last `chart_len` intervals and the one in progress.
    pub async fn history(&self, token: Token, interval: Interval) -> Result<Vec<Candle>, HostError> {
        let now = now_ms().div_euclid(1_000);
        let from = interval.start_of(now) - interval.seconds() * (interval.chart_len() as i64 - 1);
        let filter = doc! { "token": token.symbol(), "interval": interval.label(), "start": { "$gte": from } };
        let stored: Vec<CandleDoc> =
            self.inner.candles.find(filter).sort(doc! { "start": 1 }).await?.try_collect().await?;
        let mut candles: Vec<Candle> = stored.iter().map(CandleDoc::candle).collect();
        let in_progress =
            self.inner.current.lock().expect("candle lock").get(&(token, interval)).map(|(candle, _)| *candle);
        if let Some(candle) = in_progress {
            candles.retain(|stored| stored.start != candle.start);
            candles.push(candle);
        }
        Ok(candles)
    }

    /// Computes and stores the candles the charts need that are not stored yet, for feeds that
    /// can tell past prices (the simulated market can; a live exchange feed would not).
    async fn backfill(&self) -> Result<(), mongodb::error::Error> {
        let now = now_ms().div_euclid(1_000);
        for interval in Interval::ALL {
            let current_start = interval.start_of(now);
            for token in Token::ALL {
                let starts: Vec<i64> =
                    (1..interval.chart_len() as i64).map(|k| current_start - k * interval.seconds()).collect();
                let ids: Vec<String> = starts.iter().map(|start| candle_id(token, interval, *start)).collect();
                let existing: Vec<CandleDoc> =
                    self.inner.candles.find(doc! { "_id": { "$in": &ids } }).await?.try_collect().await?;
                let missing: Vec<CandleDoc> = starts
                    .iter()
                    .filter(|start| !existing.iter().any(|doc| doc.start == **start))
                    .filter_map(|start| candle_from_feed(self.inner.feed.as_ref(), token, interval, *start))
                    .map(|candle| CandleDoc::new(token, interval, &candle))
                    .collect();
                if !missing.is_empty()
                    && let Err(error) = self.inner.candles.insert_many(missing).ordered(false).await
                {
                    // Another replica filling the same gap causes duplicate keys, which are harmless.
                    if !is_only_duplicates(&error) {
                        return Err(error);
                    }
                }
            }
        }
        tracing::info!("price history back-filled");
        Ok(())
    }
}
