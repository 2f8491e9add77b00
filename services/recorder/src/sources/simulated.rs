//! The simulated market as a price source: for offline use and tests.

use std::time::Duration;

use async_trait::async_trait;
use solstice_market::{Candle, Interval};
use solstice_types::Token;

use super::{Board, PriceSource, SourceError, now_ms};
use crate::simulated::SimulatedMarket;

/// Samples per candle when a past candle is computed.
const SAMPLES: i64 = 12;

pub struct Simulated {
    market: SimulatedMarket,
}

impl Simulated {
    pub fn new(seed: u64) -> Simulated {
        Simulated { market: SimulatedMarket::new(seed) }
    }

    fn candle(&self, token: Token, interval: Interval, start: i64) -> Candle {
        let step = interval.seconds() / SAMPLES;
        let mut candle = Candle::at(start, self.market.price(token, start));
        for i in 1..SAMPLES {
            candle.update(self.market.price(token, start + i * step));
        }
        candle
    }
}

#[async_trait]
impl PriceSource for Simulated {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn run(&self, board: Board) {
        loop {
            self.prime(&board);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn past_price(&self, token: Token, unix_second: i64) -> Option<solstice_types::UsdPrice> {
        Some(self.market.price(token, unix_second))
    }

    fn prime(&self, board: &Board) {
        let second = now_ms().div_euclid(1_000);
        for token in Token::ALL {
            board.report("simulated", token, self.market.price(token, second));
        }
    }

    async fn history(&self, token: Token, interval: Interval) -> Result<Vec<Candle>, SourceError> {
        let current = interval.start_of(now_ms().div_euclid(1_000));
        Ok((1..interval.chart_len() as i64)
            .rev()
            .map(|k| self.candle(token, interval, current - k * interval.seconds()))
            .collect())
    }
}
