//! The host's price hub: follows the market recorder's ticks in the store, keeps the latest,
//! and fans each one out to every websocket subscriber; and reads the charts' candles.
//!
//! The host computes no price itself. Every host follows the same numbered ticks, so two
//! hosts push the same sequence. Each frame is serialised once and shared by all subscribers,
//! and the broadcast never waits for anyone: a slow subscriber skips ahead to newer frames, a
//! stalled one is dropped by its connection task (see the host's websocket handler), and the
//! rest are unaffected. When no new tick comes (the recorder or its sources are down), the
//! latest is sent again every two seconds with the host's time, so that browsers can tell how
//! old it is and say that prices are stale.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use axum::extract::ws::Utf8Bytes;
use mongodb::{Database, bson::DateTime};
use solstice_market::{
    Candle, Interval, MarketTick,
    store::{MarketStore, Ticks},
};
use solstice_types::Token;
use tokio::sync::broadcast::{self, error::RecvError};

use super::error::HostError;
use crate::model::{PriceTick, TokenPrice};

/// Frames a subscriber may fall behind before it skips to the newest.
const BACKLOG: usize = 16;

/// A frame as sent to subscribers: its number (this host's own, increasing) and its JSON,
/// encoded once for all and shared (cloning the text only counts a reference).
pub type Frame = (u64, Utf8Bytes);

/// How the hub runs; the defaults suit production.
#[derive(Debug, Clone)]
pub struct PriceConfig {
    /// With no new tick for this long, the latest is sent again (with its age).
    pub heartbeat: Duration,
    /// A tick older than this is stale.
    pub freshness: Duration,
}

impl Default for PriceConfig {
    fn default() -> PriceConfig {
        PriceConfig { heartbeat: Duration::from_secs(2), freshness: Duration::from_secs(10) }
    }
}

/// The price hub; cheap to clone.
#[derive(Clone)]
pub struct PriceHub {
    inner: Arc<Inner>,
}

struct Inner {
    ticks: Ticks,
    store: MarketStore,
    config: PriceConfig,
    latest: RwLock<Option<(u64, Utf8Bytes)>>,
    sender: broadcast::Sender<Frame>,
    /// Set when the host shuts down: frames stop and subscribers are told to reconnect.
    closed: tokio::sync::watch::Sender<bool>,
}

fn now_ms() -> i64 {
    DateTime::now().timestamp_millis()
}

/// A tick as the browser gets it, stamped with the host's time of sending.
fn browser_tick(tick: Option<&MarketTick>, freshness: Duration) -> PriceTick {
    let sent_ms = now_ms();
    let Some(tick) = tick else {
        return PriceTick {
            seq: 0,
            at_ms: 0,
            sent_ms,
            fresh_ms: freshness.as_millis() as i64,
            market: None,
            sources: Vec::new(),
            prices: Vec::new(),
        };
    };
    PriceTick {
        seq: tick.seq,
        at_ms: tick.at_ms,
        sent_ms,
        fresh_ms: freshness.as_millis() as i64,
        market: Some(tick.market),
        sources: tick.sources(),
        prices: tick
            .prices
            .iter()
            .map(|price| TokenPrice {
                token: price.token,
                price: price.price,
                change_24h_bps: price.change_24h_bps(),
                suspect: price.suspect,
            })
            .collect(),
    }
}

impl PriceHub {
    /// A hub over the ticks of `database`.
    pub fn new(database: &Database, config: PriceConfig) -> PriceHub {
        let ticks = Ticks::follow(database, config.freshness);
        let (sender, _) = broadcast::channel(BACKLOG);
        PriceHub {
            inner: Arc::new(Inner {
                ticks,
                store: MarketStore::new(database),
                config,
                latest: RwLock::new(None),
                sender,
                closed: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Starts pushing frames in the background.
    pub fn start(&self) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut every = hub.inner.ticks.subscribe();
            let mut closed = hub.inner.closed.subscribe();
            let mut frame = 0u64;
            if let Some(tick) = hub.inner.ticks.latest() {
                frame += 1;
                hub.publish(frame, Some(&tick));
            }
            loop {
                let tick = tokio::select! {
                    tick = every.recv() => match tick {
                        Ok(tick) => Some(tick),
                        Err(RecvError::Lagged(_)) => hub.inner.ticks.latest(),
                        Err(RecvError::Closed) => return,
                    },
                    () = tokio::time::sleep(hub.inner.config.heartbeat) => hub.inner.ticks.latest(),
                    _ = closed.wait_for(|closed| *closed) => return,
                };
                frame += 1;
                hub.publish(frame, tick.as_deref());
            }
        });
    }

    fn publish(&self, frame: u64, tick: Option<&MarketTick>) {
        let json: Utf8Bytes = match serde_json::to_string(&browser_tick(tick, self.inner.config.freshness)) {
            Ok(json) => json.into(),
            Err(error) => {
                tracing::error!(error = %error, "could not encode a price tick");
                return;
            }
        };
        *self.inner.latest.write().expect("price lock") = Some((frame, json.clone()));
        // No subscribers is fine: the send only fails when nobody listens.
        let _ = self.inner.sender.send((frame, json));
    }

    /// Stops the frames and tells every subscriber to close its connection (on shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Completes when the hub is closed.
    pub async fn closed(&self) {
        let mut closed = self.inner.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// The latest frame and a receiver for the following ones. A frame sent between the two
    /// steps can arrive twice; subscribers drop frames not newer than the last they sent.
    pub fn subscribe(&self) -> (Option<Frame>, broadcast::Receiver<Frame>) {
        let receiver = self.inner.sender.subscribe();
        let latest = self.inner.latest.read().expect("price lock").clone();
        (latest, receiver)
    }

    /// The latest prices, as the browser gets them (no prices at all before the first tick).
    pub fn snapshot(&self) -> PriceTick {
        browser_tick(self.inner.ticks.latest().as_deref(), self.inner.config.freshness)
    }

    /// A token's chart: stored candles of the last `chart_len` intervals and the one in progress.
    pub async fn history(&self, token: Token, interval: Interval) -> Result<Vec<Candle>, HostError> {
        Ok(self.inner.store.chart(token, interval, now_ms().div_euclid(1_000)).await?)
    }
}
