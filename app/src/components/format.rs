//! Small pieces the money pages share: times, amounts, idempotency keys.

use solstice_types::{Amount, Token};

/// A time as people read it, in UTC: "26 Nov 2026, 14:05 UTC". The same text on the server
/// and in the browser (a local time zone would make the two disagree during hydration).
pub fn format_time(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1_000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{day} {} {year}, {:02}:{:02} UTC", MONTHS[(month - 1) as usize], of_day / 3_600, (of_day % 3_600) / 60)
}

/// An amount with its symbol, to at most six decimals (the exact amount is in the title).
pub fn format_amount(amount: Amount, token: Token) -> String {
    format!("{} {}", amount.format_display(token.decimals(), 6), token.symbol())
}

/// A fresh idempotency key for one submission of a money-moving form.
pub fn new_key() -> String {
    #[cfg(feature = "ssr")]
    let random: u128 = rand::random();
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    let random: u128 = (0..4).fold(0u128, |acc, _| (acc << 32) | (js_sys::Math::random() * 4_294_967_296.0) as u128);
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let random: u128 = 0;
    format!("web-{random:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_the_same_everywhere() {
        assert_eq!(format_time(0), "1 Jan 1970, 00:00 UTC");
        assert_eq!(format_time(1_795_615_500_000), "25 Nov 2026, 14:05 UTC");
        assert_eq!(format_time(951_782_400_000), "29 Feb 2000, 00:00 UTC");
    }
}
