//! The wallet's value over time and what each holding cost, rebuilt from the ledger (the
//! balance of each token after each record) and the recorder's stored candles. Integer
//! arithmetic throughout: amounts in base units, values in picodollars.
//!
//! Cost is the average cost: each acquisition adds its amount and its value at its moment
//! (a swap's purchase costs what was paid for it, at the fill price, fee included; a transfer
//! in, the airdrop and each reward are valued at the price of their moment); each disposal
//! takes away its share of the cost. Staking moves SOL between the wallet and its stake
//! accounts and changes neither; SOL held counts both.

use std::collections::BTreeMap;

use solstice_ledger::AccountId;
use solstice_market::{Candle, Interval, store::MarketStore};
use solstice_types::{
    Amount, Token, UsdPrice, UsdValue, WalletAddress,
    activity::{ActivityKind, ActivityRow},
    portfolio::{TokenCost, ValueHistory, ValuePoint, ValueRange},
};

use crate::{
    PortfolioError, PortfolioState,
    activity::{Checked, ledger_filters, row_of, stake_accounts},
};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// About how many points a chart has.
const POINTS: i64 = 120;

/// The wallet's value over `range`, ending now at the live prices, and each holding's cost.
pub(crate) async fn history(
    state: &PortfolioState,
    wallet: &WalletAddress,
    range: ValueRange,
    now_ms: i64,
) -> Result<ValueHistory, PortfolioError> {
    let rows = all_rows(state, wallet).await?;
    let first_ms = rows.first().map_or(now_ms, |row| row.at_ms);
    let tokens: Vec<Token> = Token::ALL
        .into_iter()
        .filter(|token| {
            *token == Token::Sol
                || rows.iter().any(|row| [row.sent, row.received].iter().flatten().any(|part| part.token == *token))
        })
        .collect();
    let book = PriceBook::load(&state.market, &tokens, first_ms, now_ms).await?;
    let live = |token: Token| state.ticks.last_known(token).map(|(price, _)| price.price);

    let (from_ms, step_ms) = window(range, first_ms, now_ms);
    let mut points = Vec::new();
    let mut held = Holdings::default();
    let mut next = 0;
    let mut at = from_ms;
    while at < now_ms {
        while next < rows.len() && rows[next].at_ms <= at {
            held.apply(&rows[next]);
            next += 1;
        }
        if let Some(value) = held.value(|token| book.at(token, at)) {
            points.push(ValuePoint { at_ms: at, value });
        }
        at += step_ms;
    }
    for row in &rows[next..] {
        held.apply(row);
    }
    if let Some(value) = held.value(live) {
        points.push(ValuePoint { at_ms: now_ms, value });
    }
    let (change, change_bps) = match (points.first(), points.last()) {
        (Some(first), Some(last)) if points.len() > 1 => {
            let change = last.value.picodollars() as i128 - first.value.picodollars() as i128;
            let bps =
                (first.value.picodollars() > 0).then(|| (change * 10_000 / first.value.picodollars() as i128) as i64);
            (Some(change), bps)
        }
        _ => (None, None),
    };
    let mut costs = Costs::default();
    for row in &rows {
        costs.apply(row, |token, at_ms| book.at(token, at_ms));
    }
    Ok(ValueHistory { range, points, change, change_bps, tokens: costs.report(live) })
}

/// Every row of the wallet's activity, oldest first.
async fn all_rows(state: &PortfolioState, wallet: &WalletAddress) -> Result<Vec<ActivityRow>, PortfolioError> {
    let account = AccountId::wallet(wallet);
    let stakes = stake_accounts(state, wallet).await?;
    let addresses: Vec<String> = stakes.iter().map(|stake| stake.address.clone()).collect();
    let mut rows = Vec::new();
    for filter in ledger_filters(&account, &addresses, &Checked::default()) {
        for receipt in state.reader.all_records_oldest_first(&filter).await? {
            rows.push(row_of(&receipt, &account)?);
        }
    }
    rows.sort_by(|a, b| (a.at_ms, &a.reference).cmp(&(b.at_ms, &b.reference)));
    Ok(rows)
}

/// Where a range's chart starts (not before the wallet's first record) and its step.
fn window(range: ValueRange, first_ms: i64, now_ms: i64) -> (i64, i64) {
    let (span, step) = match range {
        ValueRange::Day => (DAY_MS, 15 * MINUTE_MS),
        ValueRange::Week => (7 * DAY_MS, HOUR_MS),
        ValueRange::Month => (30 * DAY_MS, 6 * HOUR_MS),
        ValueRange::All => {
            let span = (now_ms - first_ms).max(DAY_MS);
            // A whole number of quarter hours, about POINTS of them.
            let quarter = 15 * MINUTE_MS;
            let step = ((span / POINTS + quarter - 1) / quarter).max(1) * quarter;
            (span, step)
        }
    };
    let from = (now_ms - span).max(first_ms);
    // On the step's grid, so that the same moments are drawn from one minute to the next; not
    // before the first record (a wallet that did not exist yet was worth nothing).
    (from + (step - from.rem_euclid(step)).rem_euclid(step), step)
}

/// What the wallet holds after the rows applied so far: spendable per token, and staked SOL.
#[derive(Default)]
struct Holdings {
    spendable: BTreeMap<Token, i128>,
    staked: i128,
}

impl Holdings {
    fn apply(&mut self, row: &ActivityRow) {
        if let Some(sent) = row.sent {
            *self.spendable.entry(sent.token).or_default() -= i128::from(sent.amount.base_units());
        }
        if let Some(received) = row.received {
            *self.spendable.entry(received.token).or_default() += i128::from(received.amount.base_units());
        }
        self.staked += i128::from(row.staked_change);
    }

    /// The total at `price_of` prices; `None` when a token held has none.
    fn value(&self, price_of: impl Fn(Token) -> Option<UsdPrice>) -> Option<UsdValue> {
        let mut total = UsdValue::ZERO;
        let staked = (Token::Sol, self.staked);
        for (token, units) in self.spendable.iter().map(|(token, units)| (*token, *units)).chain([staked]) {
            if units <= 0 {
                continue;
            }
            let amount = Amount::from_base_units(u64::try_from(units).ok()?)?;
            total = total.checked_add(price_of(token)?.value_of(amount, token.decimals()))?;
        }
        Some(total)
    }
}

/// The average cost of each token held.
#[derive(Default)]
struct Costs {
    /// Amount held (SOL: staked included), cost in picodollars, and whether every acquisition
    /// had a price.
    by_token: BTreeMap<Token, (u128, u128, bool)>,
}

impl Costs {
    fn apply(&mut self, row: &ActivityRow, price_at: impl Fn(Token, i64) -> Option<UsdPrice>) {
        match row.kind {
            // SOL between the wallet and its stake accounts: still the wallet's, same cost.
            ActivityKind::Stake | ActivityKind::Withdraw | ActivityKind::Unstake => return,
            _ => {}
        }
        if let Some(sent) = row.sent {
            let (held, cost, _) = self.by_token.entry(sent.token).or_insert((0, 0, true));
            let amount = u128::from(sent.amount.base_units());
            if let Some(share) = (*cost * amount.min(*held)).checked_div(*held) {
                *cost -= share;
            }
            *held = held.saturating_sub(amount);
        }
        // What came in: a purchase costs what was paid (the row's value at the fill price); the
        // rest is valued at its moment. A reward paid into a stake account is SOL acquired too.
        let reward_staked = (row.kind == ActivityKind::Reward && row.received.is_none() && row.staked_change > 0)
            .then(|| Amount::from_base_units(row.staked_change as u64))
            .flatten()
            .map(|amount| solstice_types::activity::TokenAmount { token: Token::Sol, amount });
        if let Some(acquired) = row.received.or(reward_staked) {
            let value = match row.kind {
                ActivityKind::Swap => row.usd_value,
                _ => price_at(acquired.token, row.at_ms)
                    .map(|price| price.value_of(acquired.amount, acquired.token.decimals())),
            };
            let (held, cost, known) = self.by_token.entry(acquired.token).or_insert((0, 0, true));
            *held += u128::from(acquired.amount.base_units());
            match value {
                Some(value) => *cost += value.picodollars(),
                None => *known = false,
            }
        }
    }

    /// Each token still held: its cost, its value at `price_of` and the difference.
    fn report(&self, price_of: impl Fn(Token) -> Option<UsdPrice>) -> Vec<TokenCost> {
        let mut tokens: Vec<TokenCost> = self
            .by_token
            .iter()
            .filter(|(_, (held, _, _))| *held > 0)
            .filter_map(|(token, (held, cost, known))| {
                let amount = Amount::from_base_units(u64::try_from(*held).ok()?)?;
                let value = price_of(*token).map_or(UsdValue::ZERO, |price| price.value_of(amount, token.decimals()));
                let cost = known.then(|| UsdValue::from_picodollars(*cost));
                let pnl = cost.map(|cost| value.picodollars() as i128 - cost.picodollars() as i128);
                let pnl_bps = cost
                    .zip(pnl)
                    .filter(|(cost, _)| cost.picodollars() > 0)
                    .map(|(cost, pnl)| (pnl * 10_000 / cost.picodollars() as i128) as i64);
                Some(TokenCost { token: *token, amount, cost, value, pnl, pnl_bps })
            })
            .collect();
        tokens.sort_by(|a, b| b.value.cmp(&a.value).then(a.token.cmp(&b.token)));
        tokens
    }
}

/// Stored candles of the tokens held, finest first, to price any moment of the history.
struct PriceBook {
    /// Per token, the candles of each interval (1 minute, 5 minutes, 1 hour), by start.
    candles: BTreeMap<Token, Vec<(Interval, Vec<Candle>)>>,
}

impl PriceBook {
    async fn load(
        market: &MarketStore,
        tokens: &[Token],
        from_ms: i64,
        until_ms: i64,
    ) -> Result<PriceBook, PortfolioError> {
        let mut candles = BTreeMap::new();
        for token in tokens {
            let mut intervals = Vec::new();
            for interval in Interval::ALL {
                let from = interval.start_of(from_ms.div_euclid(1_000)) - interval.seconds();
                let found = market.candles(*token, interval, from, until_ms.div_euclid(1_000) + 1).await?;
                intervals.push((interval, found));
            }
            candles.insert(*token, intervals);
        }
        Ok(PriceBook { candles })
    }

    /// The price of `token` at `at_ms`: the close of the finest stored candle that holds it,
    /// else of the last candle before it within two hours (a gap in the record).
    fn at(&self, token: Token, at_ms: i64) -> Option<UsdPrice> {
        let at = at_ms.div_euclid(1_000);
        let intervals = self.candles.get(&token)?;
        let before = |candles: &[Candle]| candles.partition_point(|candle| candle.start <= at).checked_sub(1);
        for (interval, candles) in intervals {
            if let Some(i) = before(candles)
                && candles[i].start + interval.seconds() > at
            {
                return Some(candles[i].close);
            }
        }
        intervals
            .iter()
            .filter_map(|(_, candles)| before(candles).map(|i| candles[i]))
            .filter(|candle| at - candle.start <= 2 * 3_600)
            .max_by_key(|candle| candle.start)
            .map(|candle| candle.close)
    }
}
