//! A simulated market that needs no network and no coordination.
//!
//! The log-price of each token is its reference price plus a sum of smooth random waves at
//! several time scales (half a minute to a week) and a little per-second jitter. Each wave is
//! value noise: a random level at every knot (a hash of seed, token, scale and knot index),
//! eased from one knot to the next. So the price moves every second, trends over hours and
//! days, stays within a realistic band around its reference, and is the same for everyone
//! who asks about the same second: the recorder's replicas agree, and its seed (random per
//! deployment and secret) is what keeps anyone else from computing the same prices.

use solstice_types::{Token, UsdPrice};

/// The deterministic simulated market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedMarket {
    seed: u64,
}

/// (period in seconds, amplitude of the log-price for a volatility of 1.0)
const WAVES: [(i64, f64); 5] = [(30, 0.0015), (600, 0.004), (7_200, 0.012), (86_400, 0.03), (604_800, 0.06)];
const JITTER: f64 = 0.0004;

/// What the simulation starts from: a reference price in dollars and a volatility factor
/// (1.0 is SOL-like; stablecoins barely move).
fn reference(token: Token) -> (f64, f64) {
    match token {
        Token::Sol => (150.0, 1.0),
        Token::Usdc => (1.0, 0.01),
        Token::Usdt => (1.0, 0.012),
        Token::Jup => (0.55, 1.4),
        Token::Bonk => (0.000_021, 2.0),
        Token::Ray => (2.1, 1.5),
        Token::Jto => (2.3, 1.4),
    }
}

impl SimulatedMarket {
    pub const fn new(seed: u64) -> SimulatedMarket {
        SimulatedMarket { seed }
    }

    /// The price of `token` at `unix_second`.
    pub fn price(&self, token: Token, unix_second: i64) -> UsdPrice {
        let (reference, volatility) = reference(token);
        let token_salt = token as u64 + 1;
        let mut log_offset = 0.0;
        for (scale, (period, amplitude)) in WAVES.iter().enumerate() {
            let knot = unix_second.div_euclid(*period);
            let progress = unix_second.rem_euclid(*period) as f64 / *period as f64;
            let from = self.noise(token_salt, scale as u64, knot);
            let to = self.noise(token_salt, scale as u64, knot + 1);
            let eased = progress * progress * (3.0 - 2.0 * progress);
            log_offset += amplitude * (from + (to - from) * eased);
        }
        log_offset += JITTER * self.noise(token_salt, 99, unix_second);
        let dollars = reference * (log_offset * volatility).exp();
        UsdPrice::from_picodollars((dollars * 1e12).round() as u64)
    }

    /// A uniform value in [-1, 1] that depends only on the inputs.
    fn noise(&self, token: u64, scale: u64, knot: i64) -> f64 {
        let mixed = splitmix64(self.seed ^ splitmix64(token.wrapping_mul(0x9e37) ^ splitmix64(scale ^ (knot as u64))));
        (mixed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn dollars(price: UsdPrice) -> f64 {
        price.picodollars() as f64 / 1e12
    }

    #[test]
    fn two_replicas_agree_on_every_price() {
        let (a, b) = (SimulatedMarket::new(7), SimulatedMarket::new(7));
        for token in Token::ALL {
            for t in NOW..NOW + 100 {
                assert_eq!(a.price(token, t), b.price(token, t));
            }
        }
        assert_ne!(SimulatedMarket::new(8).price(Token::Sol, NOW), a.price(Token::Sol, NOW));
    }

    #[test]
    fn prices_move_every_second_but_stay_near_their_reference() {
        let market = SimulatedMarket::new(1);
        for token in Token::ALL {
            let (reference, _) = reference(token);
            let prices: Vec<f64> = (0..3 * 86_400).step_by(37).map(|s| dollars(market.price(token, NOW + s))).collect();
            let changed = prices.windows(2).filter(|w| w[0] != w[1]).count();
            assert!(changed > prices.len() * 9 / 10, "{token} moves");
            for price in &prices {
                assert!(*price > reference * 0.5 && *price < reference * 2.0, "{token} at {price}");
            }
        }
    }

    #[test]
    fn stablecoins_stay_pegged_within_half_a_cent() {
        let market = SimulatedMarket::new(3);
        for t in (0..7 * 86_400).step_by(101) {
            for token in [Token::Usdc, Token::Usdt] {
                let price = dollars(market.price(token, NOW + t));
                assert!((price - 1.0).abs() < 0.005, "{token} at {price}");
            }
        }
    }

    #[test]
    fn sol_has_a_realistic_daily_range() {
        // Over a month of days, SOL's daily move should be a few percent on average, not zero
        // and not wild.
        let market = SimulatedMarket::new(11);
        let moves: Vec<f64> = (0..30)
            .map(|day| {
                let start = dollars(market.price(Token::Sol, NOW + day * 86_400));
                let end = dollars(market.price(Token::Sol, NOW + (day + 1) * 86_400));
                ((end - start) / start).abs()
            })
            .collect();
        let average = moves.iter().sum::<f64>() / moves.len() as f64;
        assert!(average > 0.005 && average < 0.10, "average daily move {average}");
    }

    #[test]
    fn consecutive_seconds_never_jump() {
        let market = SimulatedMarket::new(5);
        for t in 0..20_000 {
            let (a, b) = (dollars(market.price(Token::Bonk, NOW + t)), dollars(market.price(Token::Bonk, NOW + t + 1)));
            assert!(((b - a) / a).abs() < 0.01, "BONK jumped {a} -> {b} at {t}");
        }
    }
}
