//! The recording loop: once a second, hold the lease and, while leading, combine the sources'
//! prices into a tick, write it, and close the candles whose interval ended.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use mongodb::{
    Collection, Database,
    bson::{Document, doc},
};
use serde::Serialize;
use solstice_market::{
    Candle, Interval, MarketKind, MarketTick, roll_up,
    store::{MarketStore, WriteError, fold_ticks},
};
use solstice_types::{Token, UsdPrice};
use tokio::task::JoinHandle;

use solstice_kit::lease::Lease;

use crate::{
    combine::{Rules, combine},
    sources::{Board, PriceSource, Simulated, SourceError, now_ms},
};

/// The recorder's own collection: its lease, and which market the store holds.
pub const RECORDER: &str = "market_recorder";
/// The name of the recorder's lease in [`RECORDER`].
pub const LEASE: &str = "lease";

/// Where the prices come from.
pub enum Market {
    /// Real sources; history from the first that has it.
    Live(Vec<Arc<dyn PriceSource>>),
    /// The simulated market, of a configured seed or else one drawn once per deployment and
    /// kept in the recorder's own collection (so that every replica agrees).
    Simulated(Option<u64>),
}

impl Market {
    pub fn kind(&self) -> MarketKind {
        match self {
            Market::Live(_) => MarketKind::Live,
            Market::Simulated(_) => MarketKind::Simulated,
        }
    }
}

/// What the recorder is doing, for its status endpoint and the tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub holder: String,
    pub market: Option<MarketKind>,
    pub leading: bool,
    pub term: Option<u64>,
    pub last_seq: Option<u64>,
    pub last_tick_ms: Option<i64>,
    /// The sources and when each last vouched for a price (Unix milliseconds).
    pub sources: Vec<(String, Option<i64>)>,
}

pub struct Recorder {
    pub(crate) store: MarketStore,
    pub(crate) state: Collection<Document>,
    pub(crate) lease: Lease,
    pub(crate) market: Market,
    pub(crate) rules: Rules,
    pub(crate) backfill: bool,
    pub(crate) tick_interval: Duration,
    pub(crate) status: Arc<Mutex<Status>>,
}

/// What a leader keeps between ticks.
struct Leading {
    term: u64,
    seq: u64,
    board: Board,
    sources: Vec<Arc<dyn PriceSource>>,
    tasks: Vec<JoinHandle<()>>,
    /// The minute in progress for each token.
    minutes: HashMap<Token, Candle>,
    /// Each token's price a day ago, and when (Unix second) it was looked up.
    day_ago: HashMap<Token, (i64, Option<UsdPrice>)>,
    /// Whether the last second had no fresh price at all (logged once per outage).
    silent: bool,
}

impl Drop for Leading {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Recorder {
    pub fn new(database: &Database, lease: Lease, market: Market, rules: Rules) -> Recorder {
        let status = Status { holder: lease.holder().to_owned(), market: Some(market.kind()), ..Status::default() };
        Recorder {
            store: MarketStore::new(database),
            state: database.collection(RECORDER),
            lease,
            market,
            rules,
            backfill: true,
            tick_interval: Duration::from_secs(1),
            status: Arc::new(Mutex::new(status)),
        }
    }

    pub fn status(&self) -> Arc<Mutex<Status>> {
        self.status.clone()
    }

    /// Records until `stop` completes, then gives up the lease.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        // Ticks on the second (or the configured interval), so that every second has one.
        let period = self.tick_interval.as_millis().max(1) as i64;
        let first = tokio::time::Instant::now() + Duration::from_millis((period - now_ms().rem_euclid(period)) as u64);
        let mut ticker = tokio::time::interval_at(first, self.tick_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut leading: Option<Leading> = None;
        // The first step at once (a tick right after start), then on the second.
        self.step(&mut leading).await;
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = ticker.tick() => {}
            }
            self.step(&mut leading).await;
        }
        drop(leading);
        self.lease.release().await;
        tracing::info!("the recorder stopped");
    }

    /// Holds the lease and, while leading, records a tick.
    async fn step(&mut self, leading: &mut Option<Leading>) {
        match self.lease.step().await {
            Ok(Some(term)) if leading.as_ref().is_some_and(|l| l.term == term) => {}
            Ok(Some(term)) => {
                *leading = None;
                match self.lead(term).await {
                    Ok(lead) => *leading = Some(lead),
                    Err(error) => tracing::warn!(error = %error, "could not start leading; trying again"),
                }
            }
            Ok(None) => *leading = None,
            Err(error) => {
                if leading.is_some() && !self.lease.is_valid() {
                    tracing::warn!(error = %error, "cannot renew the lease; stopping until it is renewed");
                    *leading = None;
                }
            }
        }
        if let Some(lead) = leading.as_mut().filter(|_| self.lease.is_valid()) {
            self.record(lead).await;
        }
        self.report(leading.as_ref());
    }

    fn report(&self, leading: Option<&Leading>) {
        let mut status = self.status.lock().expect("status lock");
        status.leading = leading.is_some();
        status.term = leading.map(|l| l.term);
        status.sources = leading
            .map(|l| l.sources.iter().map(|s| (s.name().to_owned(), l.board.last_heard(s.name()))).collect())
            .unwrap_or_default();
    }

    /// Starts leading in `term`: makes sure the store holds this market only, continues the
    /// tick numbering, picks up the minute in progress from the ticks already written, and
    /// starts the sources (and the back-fill of an empty store's charts).
    async fn lead(&mut self, term: u64) -> Result<Leading, mongodb::error::Error> {
        let kind = self.market.kind();
        let state = self
            .state
            .find_one_and_update(doc! { "_id": "market" }, doc! { "$setOnInsert": { "seed": rand::random::<i64>() } })
            .upsert(true)
            .return_document(mongodb::options::ReturnDocument::After)
            .await?
            .unwrap_or_default();
        if state.get_str("kind").ok() != Some(kind.as_str()) {
            // Never mix two markets in one store: the other market's history goes.
            if state.get_str("kind").is_ok() {
                tracing::warn!(market = kind.as_str(), "the store held another market's prices; clearing them");
            }
            self.store.clear().await?;
            self.state.update_one(doc! { "_id": "market" }, doc! { "$set": { "kind": kind.as_str() } }).await?;
        }
        let sources: Vec<Arc<dyn PriceSource>> = match &self.market {
            Market::Live(sources) => sources.clone(),
            Market::Simulated(seed) => {
                let stored = state.get_i64("seed").unwrap_or_default() as u64;
                vec![Arc::new(Simulated::new(seed.unwrap_or(stored)))]
            }
        };
        let board = Board::default();
        if let Market::Simulated(_) = self.market {
            // Computed, not received: the first tick need not wait for the source's task.
            for source in &sources {
                source.prime(&board);
            }
        }
        let seq = self.store.latest().await?.map_or(1, |tick| tick.seq + 1);
        let second = now_ms().div_euclid(1_000);
        let ticks = self.store.since(Interval::OneMinute.start_of(second) * 1_000).await?;
        let minutes = Token::ALL
            .into_iter()
            .filter_map(|token| fold_ticks(&ticks, token, Interval::OneMinute).pop().map(|candle| (token, candle)))
            .collect();
        let mut tasks: Vec<JoinHandle<()>> = sources
            .iter()
            .map(|source| {
                let (source, board) = (source.clone(), board.clone());
                tokio::spawn(async move { source.run(board).await })
            })
            .collect();
        if self.backfill {
            tasks.push(tokio::spawn(backfill(self.store.clone(), sources.clone())));
        }
        tracing::info!(term, seq, market = kind.as_str(), "the recorder leads");
        Ok(Leading { term, seq, board, sources, tasks, minutes, day_ago: HashMap::new(), silent: false })
    }

    /// One tick: combine, write, and close candles.
    async fn record(&self, lead: &mut Leading) {
        let now = now_ms();
        let mut prices = combine(&lead.board, now, self.rules);
        if prices.is_empty() {
            if !lead.silent {
                tracing::warn!("no source has a fresh price; no tick until one has");
                lead.silent = true;
            }
            return;
        }
        if std::mem::take(&mut lead.silent) {
            tracing::info!("prices are flowing again");
        }
        let second = now.div_euclid(1_000);
        for price in &mut prices {
            price.open_24h = day_ago(lead, price.token, second);
        }
        let tick = MarketTick { seq: lead.seq, term: lead.term, at_ms: now, market: self.market.kind(), prices };
        match self.store.write_tick(&tick).await {
            Ok(()) => lead.seq += 1,
            Err(WriteError::Taken(seq)) => {
                // Another recorder wrote this number: continue after the newest (if this one
                // was deposed, the next lease step says so).
                tracing::warn!(seq, "a tick number was taken by another recorder");
                if let Ok(Some(latest)) = self.store.latest().await {
                    lead.seq = latest.seq + 1;
                }
                return;
            }
            Err(WriteError::Database(error)) => {
                tracing::warn!(error = %error, "could not write a tick");
                return;
            }
        }
        {
            let mut status = self.status.lock().expect("status lock");
            status.last_seq = Some(tick.seq);
            status.last_tick_ms = Some(tick.at_ms);
        }
        let minute = Interval::OneMinute.start_of(second);
        let mut closed = Vec::new();
        for price in &tick.prices {
            match lead.minutes.get_mut(&price.token) {
                Some(candle) if candle.start == minute => candle.update(price.price),
                Some(candle) => {
                    closed.push((price.token, *candle));
                    *candle = Candle::at(minute, price.price);
                }
                None => {
                    lead.minutes.insert(price.token, Candle::at(minute, price.price));
                }
            }
        }
        for (token, candle) in closed {
            if let Err(error) = self.close(token, candle, minute, lead.term).await {
                tracing::warn!(error = %error, %token, "could not store a candle");
            }
        }
        self.refresh_day_ago(lead, second).await;
    }

    /// Stores a closed minute, and the 5-minute and hourly candles that ended with it (rolled
    /// up from the stored minutes, so that a recorder that took over mid-hour writes the whole
    /// hour).
    async fn close(
        &self,
        token: Token,
        minute: Candle,
        next_minute: i64,
        term: u64,
    ) -> Result<(), mongodb::error::Error> {
        self.store.write_candle(token, Interval::OneMinute, &minute, term).await?;
        for interval in [Interval::FiveMinutes, Interval::OneHour] {
            let start = interval.start_of(minute.start);
            if interval.start_of(next_minute) != start {
                let minutes = self.store.candles(token, Interval::OneMinute, start, start + interval.seconds()).await?;
                if let Some(candle) = roll_up(&minutes, interval).pop() {
                    self.store.write_candle(token, interval, &candle, term).await?;
                }
            }
        }
        Ok(())
    }

    /// Looks up again the prices of a day ago that are unknown or older than a minute (every
    /// few seconds while unknown: the history may be being back-filled). Done after the tick is
    /// written, so that the store's answers never delay a tick.
    async fn refresh_day_ago(&self, lead: &mut Leading, second: i64) {
        for token in Token::ALL {
            if lead.sources.iter().any(|source| source.past_price(token, second).is_some()) {
                continue;
            }
            let due = lead
                .day_ago
                .get(&token)
                .is_none_or(|(looked_up, price)| second - looked_up >= if price.is_some() { 60 } else { 5 });
            if due {
                let price = self.store.price_a_day_before(token, second).await.ok().flatten();
                lead.day_ago.insert(token, (second, price));
            }
        }
    }
}

/// The price of `token` a day before `second`: computed by a source that can (the simulated
/// market), else as last looked up in the store.
fn day_ago(lead: &Leading, token: Token, second: i64) -> Option<UsdPrice> {
    lead.sources
        .iter()
        .find_map(|source| source.past_price(token, second - 86_400))
        .or_else(|| lead.day_ago.get(&token).and_then(|(_, price)| *price))
}

/// Fills the charts of an empty store from the first source that has history: for each token
/// and interval with no candle stored yet. Sources limit requests, so they are paced and a
/// refused one is retried a few times.
async fn backfill(store: MarketStore, sources: Vec<Arc<dyn PriceSource>>) {
    // Hours first: they reach back a day soonest, which the 24-hour changes need.
    for interval in [Interval::OneHour, Interval::FiveMinutes, Interval::OneMinute] {
        for token in Token::ALL {
            match store.candle_count(token, interval).await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(error = %error, "back-fill: cannot read the candles");
                    return;
                }
            }
            for source in &sources {
                let mut wait = Duration::from_secs(2);
                let candles = loop {
                    match source.history(token, interval).await {
                        Ok(candles) => break candles,
                        // Refused for now (a rate limit, the network): worth another try.
                        Err(error @ (SourceError::RateLimited | SourceError::Unreachable(_)))
                            if wait <= Duration::from_secs(16) =>
                        {
                            tracing::info!(source = source.name(), %token, error = %error, "back-fill: retrying");
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                        }
                        Err(error) => {
                            tracing::warn!(source = source.name(), %token, error = %error, "back-fill: giving up");
                            break Vec::new();
                        }
                    }
                };
                if candles.is_empty() {
                    continue;
                }
                match store.backfill(token, interval, &candles).await {
                    Ok(stored) => {
                        tracing::info!(source = source.name(), %token, interval = interval.label(), stored, "back-filled")
                    }
                    Err(error) => tracing::warn!(error = %error, "back-fill: cannot store candles"),
                }
                // Public APIs allow about a request a second.
                if source.name() != "simulated" {
                    tokio::time::sleep(Duration::from_millis(1_100)).await;
                }
                break;
            }
        }
    }
}
