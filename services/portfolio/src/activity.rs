//! The activity timeline: every movement of a wallet's money, newest first, from the ledger
//! (the wallet's own records and the rewards paid into its stake accounts) and the stake
//! accounts (unstakes, which move no money), each valued at the price of its moment.

use std::collections::HashMap;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use solstice_ledger::{AccountId, Receipt, RecordFilter, SystemAccount};
use solstice_stake::StakeDoc;
use solstice_types::{
    Amount, ApiError, ErrorCode, Reference, ReferenceKind, Token, UsdPrice, WalletAddress,
    activity::{ActivityFilter, ActivityKind, ActivityPage, ActivityRow, TokenAmount},
    transfer::Memo,
};

use crate::{PortfolioError, PortfolioState};

/// A filter checked and in the units the queries use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    kind: Option<ActivityKind>,
    token: Option<Token>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

/// Checks a filter as typed: dates are `YYYY-MM-DD` days (UTC), both included.
pub(crate) fn check(filter: &ActivityFilter) -> Result<Checked, ApiError> {
    let day = |text: &Option<String>, which: &str| -> Result<Option<i64>, ApiError> {
        match text.as_deref().map(str::trim) {
            None => Ok(None),
            Some(text) => day_start_ms(text).map(Some).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidInput, format!("The {which} date must be a day like 2026-11-30."))
            }),
        }
    };
    let since_ms = day(&filter.from, "from")?;
    let until_ms = day(&filter.to, "to")?.map(|start| start + DAY_MS);
    if let (Some(since), Some(until)) = (since_ms, until_ms)
        && since >= until
    {
        return Err(ApiError::new(ErrorCode::InvalidInput, "The from date must not be after the to date."));
    }
    Ok(Checked { kind: filter.kind, token: filter.token, since_ms, until_ms })
}

/// The start of a day typed as `YYYY-MM-DD`, in Unix milliseconds (UTC).
fn day_start_ms(day: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// One page of the wallet's activity matching `filter`, newest first, after `before`.
pub(crate) async fn page(
    state: &PortfolioState,
    wallet: &WalletAddress,
    filter: &Checked,
    before: Option<&Reference>,
    limit: u32,
) -> Result<ActivityPage, PortfolioError> {
    let account = AccountId::wallet(wallet);
    let stakes = stake_accounts(state, wallet).await?;
    let addresses: Vec<String> = stakes.iter().map(|stake| stake.address.clone()).collect();
    let mut candidates: Vec<(i64, Reference, Source)> = Vec::new();
    // One more than a page from each source: if anything is left over, there is a next page.
    let take = limit + 1;
    for records in ledger_filters(&account, &addresses, filter) {
        for receipt in state.reader.records(&records, before, take).await? {
            candidates.push((
                receipt.created_at.timestamp_millis(),
                receipt.reference.clone(),
                Source::Ledger(receipt),
            ));
        }
    }
    if matches!(filter.kind, None | Some(ActivityKind::Unstake)) && matches!(filter.token, None | Some(Token::Sol)) {
        for (at_ms, reference, stake) in unstakes(&stakes) {
            let in_range =
                filter.since_ms.is_none_or(|since| at_ms >= since) && filter.until_ms.is_none_or(|until| at_ms < until);
            let after_cursor = before.is_none_or(|before| (at_ms, &reference) < (before.unix_millis() as i64, before));
            if in_range && after_cursor {
                candidates.push((at_ms, reference, Source::Unstake(stake.address.clone())));
            }
        }
    }
    candidates.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    let more = candidates.len() > limit as usize;
    candidates.truncate(limit as usize);
    let mut prices = Prices::new(state);
    let mut rows = Vec::with_capacity(candidates.len());
    for (at_ms, reference, source) in candidates {
        let row = match source {
            Source::Ledger(receipt) => row_of(&receipt, &account)?,
            Source::Unstake(address) => unstake_row(reference, at_ms, address),
        };
        rows.push(prices.value(row).await?);
    }
    let next_before = if more { rows.last().map(|row| row.reference.clone()) } else { None };
    Ok(ActivityPage { rows, next_before })
}

/// The row with this reference number, if it is in the wallet's activity.
pub(crate) async fn find(
    state: &PortfolioState,
    wallet: &WalletAddress,
    reference: &Reference,
) -> Result<Option<ActivityRow>, PortfolioError> {
    let account = AccountId::wallet(wallet);
    let row = if let Some(receipt) = state.reader.record_of(&account, reference).await? {
        Some(row_of(&receipt, &account)?)
    } else if reference.kind() == ReferenceKind::Stake {
        let stakes = stake_accounts(state, wallet).await?;
        let unstake = unstakes(&stakes).find(|(_, unstake, _)| unstake == reference);
        match unstake {
            Some((at_ms, reference, stake)) => Some(unstake_row(reference, at_ms, stake.address.clone())),
            // A reward paid into one of the wallet's stake accounts.
            None => match state.reader.find(reference).await? {
                Some(receipt) if stakes.iter().any(|stake| Some(stake.address.as_str()) == stake_account(&receipt)) => {
                    Some(row_of(&receipt, &account)?)
                }
                _ => None,
            },
        }
    } else {
        None
    };
    match row {
        Some(row) => Ok(Some(Prices::new(state).value(row).await?)),
        None => Ok(None),
    }
}

enum Source {
    Ledger(Receipt),
    /// An unstake of this stake account.
    Unstake(String),
}

/// Every stake account the wallet ever had, withdrawn ones included.
pub(crate) async fn stake_accounts(
    state: &PortfolioState,
    wallet: &WalletAddress,
) -> Result<Vec<StakeDoc>, PortfolioError> {
    Ok(state.stakes.find(doc! { "wallet": wallet.as_str() }).await?.try_collect().await?)
}

fn unstakes(stakes: &[StakeDoc]) -> impl Iterator<Item = (i64, Reference, &StakeDoc)> {
    stakes.iter().filter_map(|stake| {
        let reference = Reference::parse(stake.unstake_reference.as_deref()?).ok()?;
        Some((stake.unstaked_at?.timestamp_millis(), reference, stake))
    })
}

/// The ledger queries that find the rows of `filter`.
pub(crate) fn ledger_filters(account: &AccountId, stake_accounts: &[String], filter: &Checked) -> Vec<RecordFilter> {
    let mine = || RecordFilter::involving(account);
    let rewards = || RecordFilter::rewards_of(stake_accounts, account);
    let filters = match filter.kind {
        None => vec![mine(), rewards()],
        Some(ActivityKind::Airdrop) => vec![mine().kind(ReferenceKind::Airdrop)],
        Some(ActivityKind::Received) => vec![mine().kind(ReferenceKind::Transfer).paid_to(account)],
        Some(ActivityKind::Sent) => vec![mine().kind(ReferenceKind::Transfer).paid_by(account)],
        Some(ActivityKind::Swap) => vec![mine().kind(ReferenceKind::Swap)],
        Some(ActivityKind::Stake) => vec![mine().kind(ReferenceKind::Stake).action("stake")],
        Some(ActivityKind::Withdraw) => vec![mine().kind(ReferenceKind::Stake).action("withdraw")],
        Some(ActivityKind::Reward) => vec![mine().kind(ReferenceKind::Stake).action("reward"), rewards()],
        Some(ActivityKind::Unstake) => vec![],
    };
    let filters = if stake_accounts.is_empty() {
        // No stake account, no reward paid into one: spare the query.
        let mut filters = filters;
        if matches!(filter.kind, None | Some(ActivityKind::Reward)) {
            filters.pop();
        }
        filters
    } else {
        filters
    };
    filters
        .into_iter()
        .map(|records| {
            let records = records.created(filter.since_ms, filter.until_ms);
            match filter.token {
                Some(token) => records.token(token),
                None => records,
            }
        })
        .collect()
}

fn stake_account(receipt: &Receipt) -> Option<&str> {
    receipt.details.as_ref().and_then(|details| details.get_str("stake_account").ok())
}

fn unstake_row(reference: Reference, at_ms: i64, stake_account: String) -> ActivityRow {
    ActivityRow {
        reference,
        kind: ActivityKind::Unstake,
        at_ms,
        sent: None,
        received: None,
        fee: None,
        staked_change: 0,
        usd_value: None,
        counterparty: None,
        stake_account: Some(stake_account),
        note: Some("Stops earning at the end of the epoch".to_owned()),
    }
}

/// What a ledger record did to `account`'s money, as a row (not yet valued).
pub(crate) fn row_of(receipt: &Receipt, account: &AccountId) -> Result<ActivityRow, PortfolioError> {
    let corrupt = || PortfolioError::Corrupt(receipt.reference.to_string());
    // The wallet's net change per token.
    let mut net: Vec<(Token, i128)> = Vec::new();
    let mut change = |token: Token, delta: i128| match net.iter_mut().find(|(t, _)| *t == token) {
        Some((_, sum)) => *sum += delta,
        None => net.push((token, delta)),
    };
    let mut counterparty = None;
    let pool = AccountId::System(SystemAccount::StakePool);
    let mut into_pool: i128 = 0;
    let mut out_of_pool: i128 = 0;
    for leg in &receipt.legs {
        let amount = i128::from(leg.amount.base_units());
        if &leg.from == account {
            change(leg.token, -amount);
            if let AccountId::Wallet(other) = &leg.to {
                counterparty = Some(other.clone());
            }
        }
        if &leg.to == account {
            change(leg.token, amount);
            if let AccountId::Wallet(other) = &leg.from {
                counterparty = Some(other.clone());
            }
        }
        if leg.to == pool {
            into_pool += amount;
        }
        if leg.from == pool {
            out_of_pool += amount;
        }
    }
    let amount_of = |token: Token, units: i128| -> Result<TokenAmount, PortfolioError> {
        let amount = u64::try_from(units).ok().and_then(Amount::from_base_units).ok_or_else(corrupt)?;
        Ok(TokenAmount { token, amount })
    };
    let sent = net.iter().find(|(_, delta)| *delta < 0).map(|(token, delta)| amount_of(*token, -delta)).transpose()?;
    let received =
        net.iter().find(|(_, delta)| *delta > 0).map(|(token, delta)| amount_of(*token, *delta)).transpose()?;
    let details = receipt.details.as_ref();
    let action = details.and_then(|details| details.get_str("action").ok());
    let kind = match receipt.kind {
        // Genesis and rebalancing move money between system accounts only: no wallet sees them.
        ReferenceKind::Airdrop | ReferenceKind::Genesis | ReferenceKind::Rebalance => ActivityKind::Airdrop,
        ReferenceKind::Transfer if sent.is_some() => ActivityKind::Sent,
        ReferenceKind::Transfer => ActivityKind::Received,
        ReferenceKind::Swap => ActivityKind::Swap,
        ReferenceKind::Stake => match action {
            Some("withdraw") => ActivityKind::Withdraw,
            Some("reward") => ActivityKind::Reward,
            _ => ActivityKind::Stake,
        },
    };
    let staked_change = match kind {
        ActivityKind::Stake | ActivityKind::Reward => into_pool,
        ActivityKind::Withdraw => -out_of_pool,
        _ => 0,
    };
    let fee = match (kind, details) {
        (ActivityKind::Swap, Some(details)) => swap_fee(details).filter(|fee| !fee.amount.is_zero()),
        _ => None,
    };
    let note = match kind {
        ActivityKind::Sent | ActivityKind::Received => {
            details.and_then(|details| details.get_str("memo").ok()).map(Memo::shown).filter(|memo| !memo.is_empty())
        }
        ActivityKind::Reward => {
            details.and_then(|details| details.get_i64("epoch").ok()).map(|epoch| format!("Epoch {epoch}"))
        }
        _ => None,
    };
    // A swap is valued at the price it was filled at, which its record keeps.
    let usd_value = match (kind, sent, details.and_then(|details| details.get_i64("price_in").ok())) {
        (ActivityKind::Swap, Some(sent), Some(price)) if price > 0 => {
            Some(UsdPrice::from_picodollars(price as u64).value_of(sent.amount, sent.token.decimals()))
        }
        _ => None,
    };
    Ok(ActivityRow {
        reference: receipt.reference.clone(),
        kind,
        at_ms: receipt.created_at.timestamp_millis(),
        sent,
        received,
        fee,
        staked_change: i64::try_from(staked_change).map_err(|_| corrupt())?,
        usd_value,
        counterparty: if matches!(kind, ActivityKind::Sent | ActivityKind::Received) { counterparty } else { None },
        stake_account: stake_account(receipt).map(str::to_owned),
        note,
    })
}

/// A swap's fee: in the token bought, taken before the wallet received it.
fn swap_fee(details: &Document) -> Option<TokenAmount> {
    let token: Token = details.get_str("to").ok()?.parse().ok()?;
    let fee = u64::try_from(details.get_i64("fee").ok()?).ok().and_then(Amount::from_base_units)?;
    Some(TokenAmount { token, amount: fee })
}

/// Prices at past moments, each looked up once per request.
struct Prices<'a> {
    state: &'a PortfolioState,
    /// By token and minute.
    known: HashMap<(Token, i64), Option<UsdPrice>>,
}

impl<'a> Prices<'a> {
    fn new(state: &'a PortfolioState) -> Prices<'a> {
        Prices { state, known: HashMap::new() }
    }

    async fn at(&mut self, token: Token, at_ms: i64) -> Result<Option<UsdPrice>, PortfolioError> {
        let key = (token, at_ms.div_euclid(60_000));
        if let Some(price) = self.known.get(&key) {
            return Ok(*price);
        }
        let price = self.state.market.price_at(token, at_ms).await?;
        self.known.insert(key, price);
        Ok(price)
    }

    /// `row` with its USD value at its moment: what was sent (a swap at the price it was
    /// filled at), else what was received, else the SOL staked.
    async fn value(&mut self, mut row: ActivityRow) -> Result<ActivityRow, PortfolioError> {
        if row.usd_value.is_some() {
            return Ok(row);
        }
        row.usd_value = match (row.sent, row.received) {
            (Some(sent), _) => {
                self.at(sent.token, row.at_ms).await?.map(|price| price.value_of(sent.amount, sent.token.decimals()))
            }
            (None, Some(received)) => self
                .at(received.token, row.at_ms)
                .await?
                .map(|price| price.value_of(received.amount, received.token.decimals())),
            (None, None) if row.staked_change != 0 => {
                let lamports = Amount::from_base_units(row.staked_change.unsigned_abs()).unwrap_or(Amount::ZERO);
                self.at(Token::Sol, row.at_ms).await?.map(|price| price.value_of(lamports, Token::Sol.decimals()))
            }
            (None, None) => None,
        };
        Ok(row)
    }
}
