//! Candles: open, high, low and close of a price over a fixed interval.

use serde::{Deserialize, Serialize};
use solstice_types::UsdPrice;

/// The chart intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interval {
    #[serde(rename = "1m")]
    OneMinute,
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    OneHour,
}

impl Interval {
    pub const ALL: [Interval; 3] = [Interval::OneMinute, Interval::FiveMinutes, Interval::OneHour];

    pub const fn seconds(self) -> i64 {
        match self {
            Interval::OneMinute => 60,
            Interval::FiveMinutes => 300,
            Interval::OneHour => 3_600,
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Interval::OneMinute => "1m",
            Interval::FiveMinutes => "5m",
            Interval::OneHour => "1h",
        }
    }

    /// How many candles a chart of this interval shows: two hours, half a day, a week.
    pub const fn chart_len(self) -> usize {
        match self {
            Interval::OneMinute => 120,
            Interval::FiveMinutes => 144,
            Interval::OneHour => 168,
        }
    }

    /// Start of the interval that contains `unix_second`.
    pub const fn start_of(self, unix_second: i64) -> i64 {
        unix_second - unix_second.rem_euclid(self.seconds())
    }
}

/// One candle. `start` is the Unix second the interval begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    pub start: i64,
    pub open: UsdPrice,
    pub high: UsdPrice,
    pub low: UsdPrice,
    pub close: UsdPrice,
}

impl Candle {
    /// A candle holding a single price.
    pub fn at(start: i64, price: UsdPrice) -> Candle {
        Candle { start, open: price, high: price, low: price, close: price }
    }

    /// Takes in a later price of the same interval.
    pub fn update(&mut self, price: UsdPrice) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
    }
}

/// Combines finer candles (sorted by start) into candles of `interval`: the first open, the
/// highest high, the lowest low and the last close of each interval. Gaps stay gaps.
pub fn roll_up(candles: &[Candle], interval: Interval) -> Vec<Candle> {
    let mut rolled: Vec<Candle> = Vec::new();
    for candle in candles {
        let start = interval.start_of(candle.start);
        match rolled.last_mut() {
            Some(last) if last.start == start => {
                last.high = last.high.max(candle.high);
                last.low = last.low.min(candle.low);
                last.close = candle.close;
            }
            _ => rolled.push(Candle { start, ..*candle }),
        }
    }
    rolled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(picos: u64) -> UsdPrice {
        UsdPrice::from_picodollars(picos)
    }

    fn c(start: i64, open: u64, high: u64, low: u64, close: u64) -> Candle {
        Candle { start, open: p(open), high: p(high), low: p(low), close: p(close) }
    }

    #[test]
    fn minutes_roll_up_into_five_minute_candles() {
        let minutes = [
            c(0, 10, 12, 9, 11),
            c(60, 11, 15, 11, 14),
            c(120, 14, 14, 8, 9),
            c(240, 9, 10, 9, 10),
            c(300, 10, 11, 10, 11),
            c(360, 11, 13, 7, 12),
        ];
        assert_eq!(roll_up(&minutes, Interval::FiveMinutes), [c(0, 10, 15, 8, 10), c(300, 10, 13, 7, 12)]);
    }

    #[test]
    fn a_gap_does_not_invent_candles() {
        let minutes = [c(0, 1, 1, 1, 1), c(7_200, 2, 2, 2, 2)];
        let hours = roll_up(&minutes, Interval::OneHour);
        assert_eq!(hours.iter().map(|c| c.start).collect::<Vec<_>>(), [0, 7_200]);
    }

    #[test]
    fn a_candle_tracks_its_extremes_and_last_price() {
        let mut candle = Candle::at(60, p(10));
        for price in [12, 7, 9] {
            candle.update(p(price));
        }
        assert_eq!(candle, c(60, 10, 12, 7, 9));
    }

    #[test]
    fn intervals_start_on_their_boundaries() {
        assert_eq!(Interval::OneHour.start_of(7_199), 3_600);
        assert_eq!(Interval::FiveMinutes.start_of(300), 300);
        assert_eq!(Interval::OneMinute.start_of(-1), -60);
    }
}
