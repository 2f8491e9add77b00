//! The market store against a real database: what a recorder may and may not overwrite.

use solstice_market::{
    Candle, Interval, MarketKind, MarketTick, TickPrice,
    store::{MarketStore, WriteError},
};
use solstice_types::{Token, UsdPrice};

fn p(dollars: u64) -> UsdPrice {
    UsdPrice::from_picodollars(dollars * 1_000_000_000_000)
}

async fn store() -> MarketStore {
    let (_client, database) = solstice_testkit::fresh_database().await;
    let store = MarketStore::new(&database);
    store.init().await.unwrap();
    store
}

#[tokio::test]
async fn a_back_fill_never_stores_a_candle_twice_and_stores_what_is_missing() {
    let store = store().await;
    let minutes = [Candle::at(60, p(1)), Candle::at(120, p(2))];
    assert_eq!(store.backfill(Token::Sol, Interval::OneMinute, &minutes).await.unwrap(), 2);
    // Another recorder filling the same gap: nothing again, and no error.
    assert_eq!(store.backfill(Token::Sol, Interval::OneMinute, &minutes).await.unwrap(), 0);
    let more = [minutes[0], minutes[1], Candle::at(180, p(3))];
    assert_eq!(store.backfill(Token::Sol, Interval::OneMinute, &more).await.unwrap(), 1, "only the missing one");
    assert_eq!(store.candle_count(Token::Sol, Interval::OneMinute).await.unwrap(), 3);
}

#[tokio::test]
async fn a_deposed_recorder_overwrites_neither_a_newer_candle_nor_a_tick() {
    let store = store().await;
    store.write_candle(Token::Sol, Interval::OneMinute, &Candle::at(60, p(5)), 2).await.unwrap();
    // The recorder of term 1 did not know it was replaced: its write is quietly lost.
    store.write_candle(Token::Sol, Interval::OneMinute, &Candle::at(60, p(9)), 1).await.unwrap();
    let stored = store.candles(Token::Sol, Interval::OneMinute, 0, 3_600).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].close, p(5));
    // The same term (or a newer one) replaces its own candle.
    store.write_candle(Token::Sol, Interval::OneMinute, &Candle::at(60, p(6)), 2).await.unwrap();
    assert_eq!(store.candles(Token::Sol, Interval::OneMinute, 0, 3_600).await.unwrap()[0].close, p(6));

    let tick = |term| MarketTick {
        seq: 7,
        term,
        at_ms: 1_000,
        market: MarketKind::Live,
        prices: vec![TickPrice { token: Token::Sol, price: p(150), open_24h: None, suspect: false, sources: vec![] }],
    };
    store.write_tick(&tick(2)).await.unwrap();
    assert!(matches!(store.write_tick(&tick(1)).await, Err(WriteError::Taken(7))), "a tick number is written once");
    assert_eq!(store.latest().await.unwrap().unwrap().term, 2);
}

#[tokio::test]
async fn a_past_price_comes_from_the_finest_record_still_kept() {
    let store = store().await;
    let now_s = mongodb::bson::DateTime::now().timestamp_millis() / 1_000;
    let hour = Interval::OneHour.start_of(now_s - 86_400);
    let minute = Interval::OneMinute.start_of(now_s - 3 * 3_600);
    store.write_candle(Token::Sol, Interval::OneHour, &Candle::at(hour, p(100)), 1).await.unwrap();
    store.write_candle(Token::Sol, Interval::OneMinute, &Candle::at(minute, p(120)), 1).await.unwrap();
    let tick = MarketTick {
        seq: 1,
        term: 1,
        at_ms: (now_s - 30) * 1_000,
        market: MarketKind::Live,
        prices: vec![TickPrice { token: Token::Sol, price: p(150), open_24h: None, suspect: false, sources: vec![] }],
    };
    store.write_tick(&tick).await.unwrap();

    // A moment within the hour candle only; within the minute candle; just after the tick.
    assert_eq!(store.price_at(Token::Sol, (hour + 1_800) * 1_000).await.unwrap(), Some(p(100)));
    assert_eq!(store.price_at(Token::Sol, (minute + 59) * 1_000 + 999).await.unwrap(), Some(p(120)));
    assert_eq!(store.price_at(Token::Sol, (now_s - 10) * 1_000).await.unwrap(), Some(p(150)));
    // Nothing kept of that moment, or of that token.
    assert_eq!(store.price_at(Token::Sol, (hour - 7_200) * 1_000).await.unwrap(), None);
    assert_eq!(store.price_at(Token::Usdc, (now_s - 10) * 1_000).await.unwrap(), None);
}
