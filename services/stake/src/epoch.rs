//! Epochs and rewards: pure arithmetic, the same in every replica.

use solstice_types::Amount;

/// Seconds in a (365-day) year, for turning an annual yield into an epoch's.
pub const YEAR_SECONDS: u128 = 365 * 86_400;
const BPS: u128 = 10_000;

/// The epoch clock: epochs of `length_ms` counted from `origin_ms` (Unix milliseconds). Every
/// replica computes the same epoch for the same moment, with no coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochClock {
    pub origin_ms: i64,
    pub length_ms: i64,
}

impl EpochClock {
    /// The epoch that `now_ms` falls in.
    pub fn epoch_at(&self, now_ms: i64) -> i64 {
        (now_ms - self.origin_ms).div_euclid(self.length_ms)
    }

    /// When `epoch` starts, in Unix milliseconds.
    pub fn start_of(&self, epoch: i64) -> i64 {
        self.origin_ms + epoch * self.length_ms
    }
}

/// What one stake account earns for one whole epoch:
/// `amount × apy × (1 − commission) × epoch length / year`, rounded down to the lamport.
///
/// Rounding down means the rewards account never pays out more than the rate says; the
/// fraction of a lamport lost per epoch is at most one lamport. Rewards compound: the next
/// epoch's reward is computed on the amount including this one.
pub fn epoch_reward(amount: Amount, apy_bps: u32, commission_bps: u32, epoch_seconds: u64) -> Amount {
    let gross = u128::from(amount.base_units()) * u128::from(apy_bps) * u128::from(epoch_seconds);
    let net = gross * (BPS - u128::from(commission_bps.min(10_000)));
    let units = net / (BPS * BPS * YEAR_SECONDS);
    Amount::from_base_units(u64::try_from(units).unwrap_or(u64::MAX)).unwrap_or(Amount::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sol(text: &str) -> Amount {
        Amount::parse(text, 9).unwrap()
    }

    #[test]
    fn epochs_are_counted_from_the_origin() {
        let clock = EpochClock { origin_ms: 1_000, length_ms: 60_000 };
        assert_eq!(clock.epoch_at(1_000), 0);
        assert_eq!(clock.epoch_at(60_999), 0);
        assert_eq!(clock.epoch_at(61_000), 1);
        assert_eq!(clock.start_of(2), 121_000);
        assert_eq!(clock.epoch_at(0), -1);
    }

    #[test]
    fn a_year_of_epochs_pays_about_the_yield_less_commission() {
        // 1,000 SOL at 7 % with a 5 % commission, for one two-day epoch:
        // 1,000 × 0.07 × 0.95 × 2 / 365 = 0.364383561... SOL, rounded down to the lamport.
        assert_eq!(epoch_reward(sol("1000"), 700, 500, 2 * 86_400), sol("0.364383561"));
        // No commission: the whole yield.
        assert_eq!(epoch_reward(sol("365"), 1_000, 0, 86_400), sol("0.1"));
        // A full commission leaves nothing for the staker.
        assert_eq!(epoch_reward(sol("1000"), 700, 10_000, 86_400), Amount::ZERO);
    }

    #[test]
    fn rewards_round_down_to_the_lamport() {
        // 1 lamport never earns anything in a short epoch.
        assert_eq!(epoch_reward(Amount::from_base_units(1).unwrap(), 700, 0, 60), Amount::ZERO);
        // The largest stake does not overflow.
        assert!(epoch_reward(Amount::MAX, 10_000, 0, 86_400 * 365) <= Amount::MAX);
    }
}
