//! The market data in MongoDB: the ticks the recorder writes and everyone else follows, and
//! the candles of the charts. Only the market recorder writes here.
//!
//! Ticks are numbered (`_id`) and carry the lease term of the recorder that wrote them. A
//! reader follows the collection by number and ignores a tick of an older term than one it has
//! seen, so a recorder that lost its lease without knowing it (paused, cut off) cannot slip an
//! old price in after its successor's. Candles are written with their term too, and never
//! over a candle of a newer term.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use futures::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use solstice_ledger::is_duplicate_key;
use solstice_types::{Token, UsdPrice};
use tokio::sync::{broadcast, watch};

use crate::{Candle, Interval, MarketKind, MarketTick, TickPrice, roll_up};

/// Collection of [`TickDoc`].
pub const TICKS: &str = "price_ticks";
/// Collection of [`CandleDoc`].
pub const CANDLES: &str = "price_candles";
/// Ticks are kept an hour: enough for a chart's minute in progress and a recorder taking over;
/// the candles keep the history.
const TICKS_KEPT: Duration = Duration::from_secs(3_600);
/// How often a reader looks for new ticks.
pub const POLL: Duration = Duration::from_millis(200);
const DAY: i64 = 86_400;

/// A stored tick. Prices are picodollars.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TickDoc {
    #[serde(rename = "_id")]
    seq: i64,
    term: i64,
    /// When the prices were combined; also what the TTL index purges by.
    at: DateTime,
    market: MarketKind,
    prices: Vec<TickPriceDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TickPriceDoc {
    token: Token,
    price: i64,
    #[serde(default)]
    open_24h: Option<i64>,
    #[serde(default)]
    suspect: bool,
    #[serde(default)]
    sources: Vec<String>,
}

fn pico(price: UsdPrice) -> i64 {
    i64::try_from(price.picodollars()).unwrap_or(i64::MAX)
}

fn price_of(picos: i64) -> UsdPrice {
    UsdPrice::from_picodollars(picos.max(0) as u64)
}

impl TickDoc {
    fn new(tick: &MarketTick) -> TickDoc {
        TickDoc {
            seq: tick.seq as i64,
            term: tick.term as i64,
            at: DateTime::from_millis(tick.at_ms),
            market: tick.market,
            prices: tick
                .prices
                .iter()
                .map(|p| TickPriceDoc {
                    token: p.token,
                    price: pico(p.price),
                    open_24h: p.open_24h.map(pico),
                    suspect: p.suspect,
                    sources: p.sources.clone(),
                })
                .collect(),
        }
    }

    fn tick(self) -> MarketTick {
        MarketTick {
            seq: self.seq.max(0) as u64,
            term: self.term.max(0) as u64,
            at_ms: self.at.timestamp_millis(),
            market: self.market,
            prices: self
                .prices
                .into_iter()
                .filter(|p| p.price > 0)
                .map(|p| TickPrice {
                    token: p.token,
                    price: price_of(p.price),
                    open_24h: p.open_24h.filter(|then| *then > 0).map(price_of),
                    suspect: p.suspect,
                    sources: p.sources,
                })
                .collect(),
        }
    }
}

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
    /// The lease term of the recorder that wrote it (0: back-filled from a source's history).
    #[serde(default)]
    term: i64,
    /// Candles are kept for a bounded time (TTL index), longer for coarser intervals.
    expires_at: DateTime,
}

impl CandleDoc {
    fn new(token: Token, interval: Interval, candle: &Candle, term: u64) -> CandleDoc {
        let keep_days = match interval {
            Interval::OneMinute => 2,
            Interval::FiveMinutes => 8,
            Interval::OneHour => 60,
        };
        CandleDoc {
            id: candle_id(token, interval, candle.start),
            token,
            interval,
            start: candle.start,
            open: pico(candle.open),
            high: pico(candle.high),
            low: pico(candle.low),
            close: pico(candle.close),
            term: term as i64,
            expires_at: DateTime::from_millis((candle.start + keep_days * DAY) * 1_000),
        }
    }

    fn candle(&self) -> Candle {
        Candle {
            start: self.start,
            open: price_of(self.open),
            high: price_of(self.high),
            low: price_of(self.low),
            close: price_of(self.close),
        }
    }
}

fn candle_id(token: Token, interval: Interval, start: i64) -> String {
    format!("{}:{token}:{start}", interval.label())
}

/// The market data of one database.
#[derive(Clone)]
pub struct MarketStore {
    ticks: Collection<TickDoc>,
    candles: Collection<CandleDoc>,
}

/// Writing a tick failed because its number was taken (by another recorder).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("tick {0} was already written")]
    Taken(u64),
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
}

impl MarketStore {
    pub fn new(database: &Database) -> MarketStore {
        MarketStore { ticks: database.collection(TICKS), candles: database.collection(CANDLES) }
    }

    /// Creates the indexes (idempotent): the TTLs, and candles by token, interval and start.
    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let ttl =
            |after: Duration, name: &str| IndexOptions::builder().expire_after(after).name(name.to_owned()).build();
        self.ticks
            .create_index(IndexModel::builder().keys(doc! { "at": 1 }).options(ttl(TICKS_KEPT, "at_ttl")).build())
            .await?;
        self.candles
            .create_index(IndexModel::builder().keys(doc! { "token": 1, "interval": 1, "start": 1 }).build())
            .await?;
        self.candles
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(ttl(Duration::ZERO, "expires_at_ttl"))
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// The newest tick, if any.
    pub async fn latest(&self) -> Result<Option<MarketTick>, mongodb::error::Error> {
        Ok(self.ticks.find_one(doc! {}).sort(doc! { "_id": -1 }).await?.map(TickDoc::tick))
    }

    /// Ticks numbered after `seq`, oldest first, at most `limit`.
    pub async fn after(&self, seq: u64, limit: i64) -> Result<Vec<MarketTick>, mongodb::error::Error> {
        let found: Vec<TickDoc> = self
            .ticks
            .find(doc! { "_id": { "$gt": seq as i64 } })
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(TickDoc::tick).collect())
    }

    /// Ticks taken at or after `from_ms`, oldest first.
    pub async fn since(&self, from_ms: i64) -> Result<Vec<MarketTick>, mongodb::error::Error> {
        let found: Vec<TickDoc> = self
            .ticks
            .find(doc! { "at": { "$gte": DateTime::from_millis(from_ms) } })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(TickDoc::tick).collect())
    }

    /// Writes a tick under its number; fails with [`WriteError::Taken`] if the number is used.
    pub async fn write_tick(&self, tick: &MarketTick) -> Result<(), WriteError> {
        match self.ticks.insert_one(TickDoc::new(tick)).await {
            Ok(_) => Ok(()),
            Err(error) if is_duplicate_key(&error) => Err(WriteError::Taken(tick.seq)),
            Err(error) => Err(error.into()),
        }
    }

    /// Writes a closed candle of the recorder of `term`, unless a newer term wrote it already.
    pub async fn write_candle(
        &self,
        token: Token,
        interval: Interval,
        candle: &Candle,
        term: u64,
    ) -> Result<(), mongodb::error::Error> {
        let doc = CandleDoc::new(token, interval, candle, term);
        let written =
            self.candles.replace_one(doc! { "_id": &doc.id, "term": { "$lte": term as i64 } }, &doc).upsert(true).await;
        match written {
            // A newer recorder's candle is there: it wins.
            Err(error) if is_duplicate_key(&error) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Stores candles from a source's history where none is stored yet (never over a recorded one).
    pub async fn backfill(
        &self,
        token: Token,
        interval: Interval,
        candles: &[Candle],
    ) -> Result<usize, mongodb::error::Error> {
        if candles.is_empty() {
            return Ok(0);
        }
        let docs: Vec<CandleDoc> = candles.iter().map(|candle| CandleDoc::new(token, interval, candle, 0)).collect();
        match self.candles.insert_many(&docs).ordered(false).await {
            Ok(result) => Ok(result.inserted_ids.len()),
            // Some were stored already (another recorder's back-fill): the others still are.
            Err(error) if is_duplicate_key(&error) => Ok(match &*error.kind {
                mongodb::error::ErrorKind::InsertMany(failure) => {
                    docs.len() - failure.write_errors.as_ref().map_or(0, Vec::len)
                }
                _ => 0,
            }),
            Err(error) => Err(error),
        }
    }

    /// How many candles of `token` and `interval` are stored.
    pub async fn candle_count(&self, token: Token, interval: Interval) -> Result<u64, mongodb::error::Error> {
        self.candles.count_documents(doc! { "token": token.symbol(), "interval": interval.label() }).await
    }

    /// Stored candles of `token` and `interval` starting in `[from, until)`, oldest first.
    pub async fn candles(
        &self,
        token: Token,
        interval: Interval,
        from: i64,
        until: i64,
    ) -> Result<Vec<Candle>, mongodb::error::Error> {
        let filter =
            doc! { "token": token.symbol(), "interval": interval.label(), "start": { "$gte": from, "$lt": until } };
        let stored: Vec<CandleDoc> = self.candles.find(filter).sort(doc! { "start": 1 }).await?.try_collect().await?;
        Ok(stored.iter().map(CandleDoc::candle).collect())
    }

    /// The candle in progress of `token` and `interval` at `now` (Unix seconds): the stored
    /// minutes since the interval began and the ticks of the current minute.
    pub async fn candle_in_progress(
        &self,
        token: Token,
        interval: Interval,
        now: i64,
    ) -> Result<Option<Candle>, mongodb::error::Error> {
        let minute = Interval::OneMinute.start_of(now);
        let mut minutes = if interval == Interval::OneMinute {
            Vec::new()
        } else {
            self.candles(token, Interval::OneMinute, interval.start_of(now), minute).await?
        };
        let ticks = self.since(minute * 1_000).await?;
        minutes.extend(fold_ticks(&ticks, token, Interval::OneMinute));
        Ok(roll_up(&minutes, interval).pop().filter(|candle| candle.start == interval.start_of(now)))
    }

    /// A token's chart at `now`: the last [`Interval::chart_len`] intervals, oldest first.
    pub async fn chart(
        &self,
        token: Token,
        interval: Interval,
        now: i64,
    ) -> Result<Vec<Candle>, mongodb::error::Error> {
        let current = interval.start_of(now);
        let from = current - interval.seconds() * (interval.chart_len() as i64 - 1);
        let mut candles = self.candles(token, interval, from, current).await?;
        candles.extend(self.candle_in_progress(token, interval, now).await?);
        Ok(candles)
    }

    /// The price of `token` about 24 hours before `now`: the open of the first stored candle
    /// from then, in the finest interval that has one within its own length.
    pub async fn price_a_day_before(&self, token: Token, now: i64) -> Result<Option<UsdPrice>, mongodb::error::Error> {
        for interval in Interval::ALL {
            let then = interval.start_of(now - DAY);
            let found = self.candles(token, interval, then, then + interval.seconds()).await?;
            if let Some(candle) = found.first() {
                return Ok(Some(candle.open));
            }
        }
        Ok(None)
    }

    /// The price of `token` at `at_ms` (Unix milliseconds), as finely as it is still stored:
    /// the last tick of the minute before it (ticks are kept an hour), else the close of the
    /// 1-minute, 5-minute or hourly candle that holds it. `None` when nothing that old is kept.
    pub async fn price_at(&self, token: Token, at_ms: i64) -> Result<Option<UsdPrice>, mongodb::error::Error> {
        let window = doc! { "$lte": DateTime::from_millis(at_ms), "$gt": DateTime::from_millis(at_ms - 60_000) };
        if let Some(tick) = self.ticks.find_one(doc! { "at": window }).sort(doc! { "at": -1 }).await?
            && let Some(price) = tick.prices.iter().find(|p| p.token == token && p.price > 0)
        {
            return Ok(Some(price_of(price.price)));
        }
        for interval in Interval::ALL {
            let id = candle_id(token, interval, interval.start_of(at_ms.div_euclid(1_000)));
            if let Some(candle) = self.candles.find_one(doc! { "_id": id }).await? {
                return Ok(Some(price_of(candle.close)));
            }
        }
        Ok(None)
    }

    /// Deletes every tick and candle: when a store changes market kind (never mixed in one).
    pub async fn clear(&self) -> Result<(), mongodb::error::Error> {
        self.ticks.delete_many(doc! {}).await?;
        self.candles.delete_many(doc! {}).await?;
        Ok(())
    }
}

/// The candles of `interval` that `ticks` (oldest first) make for `token`.
pub fn fold_ticks(ticks: &[MarketTick], token: Token, interval: Interval) -> Vec<Candle> {
    let mut candles: Vec<Candle> = Vec::new();
    for tick in ticks {
        let Some(price) = tick.price(token) else { continue };
        let start = interval.start_of(tick.at_ms.div_euclid(1_000));
        match candles.last_mut() {
            Some(candle) if candle.start == start => candle.update(price.price),
            _ => candles.push(Candle::at(start, price.price)),
        }
    }
    candles
}

/// The latest tick, followed in the store and kept in memory; cheap to clone.
///
/// Every process that shows or trades at prices keeps one: the host (which pushes each tick
/// to browsers), the swap service and the portfolio service. All of them see the same ticks in
/// the same order, whoever wrote them.
#[derive(Clone)]
pub struct Ticks {
    latest: watch::Receiver<Option<Arc<MarketTick>>>,
    every: broadcast::Sender<Arc<MarketTick>>,
    /// Each token's last price in any tick, and that tick's time: what a holding is valued
    /// at when the latest tick lacks the token (its sources are down), marked as of then.
    known: Known,
    freshness: Duration,
}

type Known = Arc<RwLock<HashMap<Token, (TickPrice, i64)>>>;

fn remember(known: &Known, tick: &MarketTick) {
    let mut known = known.write().expect("known prices lock");
    for price in &tick.prices {
        known.insert(price.token, (price.clone(), tick.at_ms));
    }
}

impl Ticks {
    /// Follows the ticks of `database`, polling every [`POLL`]; a price is fresh for `freshness`.
    pub fn follow(database: &Database, freshness: Duration) -> Ticks {
        let store = MarketStore::new(database);
        let (latest_tx, latest) = watch::channel(None);
        let (every, _) = broadcast::channel(64);
        let known = Known::default();
        let ticks = Ticks { latest, every: every.clone(), known: known.clone(), freshness };
        tokio::spawn(follow(store, latest_tx, every, known));
        ticks
    }

    /// The newest tick seen, if any.
    pub fn latest(&self) -> Option<Arc<MarketTick>> {
        self.latest.borrow().clone()
    }

    /// Every tick from now on, in order (a receiver that falls far behind skips ahead).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<MarketTick>> {
        self.every.subscribe()
    }

    pub fn freshness(&self) -> Duration {
        self.freshness
    }

    /// The last price of `token` in any tick seen, and when that tick was taken.
    pub fn last_known(&self, token: Token) -> Option<(TickPrice, i64)> {
        self.known.read().expect("known prices lock").get(&token).cloned()
    }
}

/// Polls for ticks newer than the last seen until every [`Ticks`] is dropped.
///
/// Ticks come at a steady pace, so after two of them the next is expected one period after the
/// last: the reader sleeps until just before then and polls briefly and often around it (a
/// tick reaches readers within tens of milliseconds, for a few queries per tick); when none
/// comes (the recorder is down or failing over) it falls back to polling every [`POLL`].
async fn follow(
    store: MarketStore,
    latest: watch::Sender<Option<Arc<MarketTick>>>,
    every: broadcast::Sender<Arc<MarketTick>>,
    known: Known,
) {
    let mut last: Option<(u64, u64)> = None; // (seq, term)
    let mut times: (Option<i64>, Option<i64>) = (None, None); // the last two ticks' times
    let mut failing = false;
    loop {
        let found = match last {
            None => store.latest().await.map(|tick| tick.into_iter().collect::<Vec<_>>()),
            Some((seq, _)) => store.after(seq, 64).await,
        };
        match found {
            Ok(found) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("reading price ticks again");
                }
                for tick in found {
                    // A tick of an older term than one seen is a deposed recorder's: ignored.
                    if last.is_some_and(|(_, term)| tick.term < term) {
                        last = last.map(|(_, term)| (tick.seq, term));
                        continue;
                    }
                    last = Some((tick.seq, tick.term));
                    times = (times.1, Some(tick.at_ms));
                    remember(&known, &tick);
                    let tick = Arc::new(tick);
                    latest.send_replace(Some(tick.clone()));
                    let _ = every.send(tick);
                }
            }
            Err(error) => {
                // Logged once per outage, not every poll.
                if !failing {
                    tracing::warn!(error = %error, "cannot read price ticks");
                    failing = true;
                }
            }
        }
        let wait = next_poll(times, DateTime::now().timestamp_millis());
        tokio::select! {
            () = latest.closed() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long to wait before the next poll, given the last two ticks' times.
fn next_poll((before, last): (Option<i64>, Option<i64>), now_ms: i64) -> Duration {
    const EARLY_MS: i64 = 20;
    const CLOSE: Duration = Duration::from_millis(25);
    let (Some(before), Some(last)) = (before, last) else { return POLL };
    let period = last - before;
    if !(1..=60_000).contains(&period) {
        return POLL;
    }
    let due = last + period;
    match due - EARLY_MS - now_ms {
        until if until > 0 => Duration::from_millis(until as u64).min(POLL * 5),
        // Around the time it is due: poll often, for as long as a period (then it is late).
        late if -late < period.max(200) => CLOSE,
        _ => POLL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_poll_just_before_the_next_tick_is_due_and_back_off_when_it_is_late() {
        let ms = Duration::from_millis;
        assert_eq!(next_poll((None, Some(1_000)), 1_100), POLL);
        assert_eq!(next_poll((Some(1_000), Some(2_000)), 2_100), ms(880));
        assert_eq!(next_poll((Some(1_000), Some(2_000)), 2_990), ms(25));
        assert_eq!(next_poll((Some(1_000), Some(2_000)), 3_500), ms(25));
        assert_eq!(next_poll((Some(1_000), Some(2_000)), 4_500), POLL);
    }
}
