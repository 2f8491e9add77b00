//! Swaps: executing a quote at its terms, the swap history, one swap by reference number.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
};
use mongodb::bson::{self, DateTime, doc};
use serde::Deserialize;
use solstice_kit::{
    auth::Caller,
    extract::{Json, Query},
    input,
    openapi::{MAX_DATE_MS, MIN_DATE_MS},
};
use solstice_ledger::{
    AccountId, HistoryQuery, IdempotencyKey, LedgerError, Leg, Receipt, SystemAccount, TransactionRequest,
};
use solstice_types::{
    ReferenceKind,
    swap::{ExecuteSwap, Swap, SwapPage, SwapSide, SwapStatus},
};

use crate::{
    SwapState,
    error::SwapError,
    model::{SwapDetails, amount, price, price_i64},
    quotes::{fill, live_prices},
    treasury,
};

/// `POST /v1/swaps`: fills one of the caller's quotes at the live price within its bound, or
/// fails and moves nothing. A retry with the same key answers with the first fill.
pub(crate) async fn execute(
    State(state): State<SwapState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<ExecuteSwap>,
) -> Result<(StatusCode, axum::Json<Swap>), SwapError> {
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let key = IdempotencyKey::scoped("swp", &caller.wallet, client_key);
    match fill_quote(&state, &caller, &request.quote_id, &key).await {
        // A quote that cannot be filled now (expired, the market moved, prices paused, filled
        // already) may have been filled by this very request before, and the answer to a
        // retry is that fill, at the price of its moment. Only such refusals cost the look-up.
        Err(
            refused @ (SwapError::QuoteExpired
            | SwapError::QuoteUsed
            | SwapError::PriceMoved(_)
            | SwapError::PriceStale
            | SwapError::PriceSuspect(_)),
        ) => match state.ledger.replay(&key).await? {
            Some(first) => replayed(first, &request.quote_id),
            None => Err(refused),
        },
        done => done,
    }
}

/// Fills quote `quote_id` of the caller under `key`: the work of [`execute`].
async fn fill_quote(
    state: &SwapState,
    caller: &Caller,
    quote_id: &str,
    key: &IdempotencyKey,
) -> Result<(StatusCode, axum::Json<Swap>), SwapError> {
    let terms = state.quote_key.open(&caller.wallet, quote_id).ok_or(SwapError::QuoteNotFound)?;
    let now = DateTime::now();
    if now.timestamp_millis() > terms.expires_at_ms {
        return Err(SwapError::QuoteExpired);
    }
    let slippage_bps = u32::from(terms.slippage_bps);
    let (live, tick) = live_prices(&state.ticks, terms.from, terms.to, now)?;
    let fixed = match terms.side {
        SwapSide::ExactIn => terms.amount_in,
        SwapSide::ExactOut => terms.amount_out,
    };
    let filled = match fill(&live, terms.side, fixed) {
        Ok(filled) => filled,
        // The size that was quoted no longer prices at all: the market moved.
        Err(SwapError::TooSmall | SwapError::TooLarge) => return Err(SwapError::PriceMoved(slippage_bps)),
        Err(error) => return Err(error),
    };
    let within = match terms.side {
        SwapSide::ExactIn => filled.amount_out >= terms.min_received,
        SwapSide::ExactOut => filled.amount_in <= terms.max_sold,
    };
    if !within {
        return Err(SwapError::PriceMoved(slippage_bps));
    }
    let details = SwapDetails {
        quote_id: quote_id.to_owned(),
        side: terms.side,
        from: terms.from,
        to: terms.to,
        amount_in: filled.amount_in.as_i64(),
        amount_out: filled.amount_out.as_i64(),
        quoted_amount_in: Some(terms.amount_in.as_i64()),
        quoted_amount_out: Some(terms.amount_out.as_i64()),
        min_received: Some(terms.min_received.as_i64()),
        max_sold: Some(terms.max_sold.as_i64()),
        tick: Some(tick as i64),
        fee: filled.fee.as_i64(),
        fee_bps: u32::from(terms.fee_bps),
        price_impact_bps: filled.price_impact_bps,
        slippage_bps,
        quoted_price_in: price_i64(terms.price_in)?,
        quoted_price_out: price_i64(terms.price_out)?,
        price_in: price_i64(live.price_in)?,
        price_out: price_i64(live.price_out)?,
    };
    let wallet = AccountId::wallet(&caller.wallet);
    let details = bson::to_document(&details)?;
    // The treasury shard this swap fills from: one no other swap of this replica is filling
    // from, or, when it is short, one that holds enough (the rebalancer keeps them even, so
    // this is rare).
    let order = state.ledger.shard_order(SystemAccount::Treasury, state.treasury_shards);
    let mut shards = order.clone();
    shards.truncate(1);
    let mut tried = 0;
    let receipt = loop {
        let (treasury, fees) = treasury::accounts(shards[tried]);
        let mut legs = vec![
            Leg { from: wallet.clone(), to: treasury.clone(), token: terms.from, amount: filled.amount_in },
            Leg { from: treasury.clone(), to: wallet.clone(), token: terms.to, amount: filled.amount_out },
        ];
        if !filled.fee.is_zero() {
            legs.push(Leg { from: treasury, to: fees, token: terms.to, amount: filled.fee });
        }
        // A quote fills once: its id is on its fill's record, under a unique index.
        let request = TransactionRequest::new(ReferenceKind::Swap, key.clone(), legs)
            .acting_on("quote", quote_id)
            .with_details(details.clone())
            .once(format!("quote:{quote_id}"));
        match state.ledger.apply(request).await {
            Ok(receipt) => break receipt,
            Err(error) if treasury::treasury_short(&error) => {
                if tried == 0 {
                    let needed = filled.amount_out.as_i64() + filled.fee.as_i64();
                    shards.extend(treasury::shards_holding(&state.ledger, terms.to, needed, &order).await?);
                }
                tried += 1;
                // No shard holds enough. The treasury as a whole may, but a swap fills from
                // one shard: the user is asked for a smaller amount.
                if tried == shards.len() {
                    return Err(error.into());
                }
            }
            // The same request filled before (a retry, or sent twice at once) at its own
            // moment's price: that fill is the answer.
            Err(LedgerError::IdempotencyConflict(_)) => {
                return match state.ledger.replay(key).await? {
                    Some(first) => replayed(first, quote_id),
                    None => Err(SwapError::QuoteUsed),
                };
            }
            Err(error) => return Err(error.into()),
        }
    };
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(swap_view(receipt)?)))
}

/// The first fill under a key, as the answer to a retry of the same quote; the key reused for
/// another quote is refused.
fn replayed(first: Receipt, quote_id: &str) -> Result<(StatusCode, axum::Json<Swap>), SwapError> {
    let swap = swap_view(first)?;
    if swap.quote_id != quote_id {
        return Err(SwapError::Ledger(LedgerError::IdempotencyConflict(swap.reference.to_string())));
    }
    Ok((StatusCode::OK, axum::Json(swap)))
}

#[derive(Deserialize)]
pub(crate) struct HistoryParams {
    token: Option<String>,
    /// Unix milliseconds, inclusive.
    since: Option<i64>,
    /// Unix milliseconds, exclusive.
    until: Option<i64>,
    before: Option<String>,
    limit: Option<u32>,
}

/// A history bound: years 1 to 9999, what every store (and every date picker) can represent.
fn date(ms: Option<i64>) -> Result<Option<chrono::DateTime<chrono::Utc>>, SwapError> {
    ms.map(|ms| {
        (MIN_DATE_MS..=MAX_DATE_MS)
            .contains(&ms)
            .then(|| chrono::DateTime::from_timestamp_millis(ms))
            .flatten()
            .ok_or(SwapError::DateOutOfRange)
    })
    .transpose()
}

/// `GET /v1/swaps`: the caller's swaps, newest first, optionally of one token and a date range.
pub(crate) async fn history(
    State(state): State<SwapState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<SwapPage>, SwapError> {
    let token = params.token.as_deref().filter(|t| !t.is_empty()).map(input::token).transpose()?;
    let (since, until) = (date(params.since)?, date(params.until)?);
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(SwapError::DatesReversed);
    }
    let before = params.before.as_deref().map(input::reference).transpose()?;
    let limit = input::page_limit(params.limit)?;
    let query = HistoryQuery { kind: ReferenceKind::Swap, token, since, until, before, limit };
    let page = state.ledger.reader().history(&AccountId::wallet(&caller.wallet), &query).await?;
    let swaps = page.records.into_iter().map(swap_view).collect::<Result<_, _>>()?;
    Ok(axum::Json(SwapPage { swaps, next_before: page.next_before }))
}

/// `GET /v1/swaps/{reference}`: one of the caller's swaps.
pub(crate) async fn by_reference(
    State(state): State<SwapState>,
    Extension(caller): Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<axum::Json<Swap>, SwapError> {
    let reference = input::reference(&reference)?;
    if reference.kind() != ReferenceKind::Swap {
        return Err(SwapError::NotFound(reference));
    }
    let record = state.ledger.reader().record_of(&AccountId::wallet(&caller.wallet), &reference).await?;
    Ok(axum::Json(swap_view(record.ok_or(SwapError::NotFound(reference))?)?))
}

/// A swap's ledger record as the API shows it.
fn swap_view(record: Receipt) -> Result<Swap, SwapError> {
    let details = record.details.ok_or(SwapError::Corrupt("swap without details"))?;
    let details: SwapDetails = bson::from_document(details).map_err(|_| SwapError::Corrupt("swap details"))?;
    Ok(Swap {
        reference: record.reference,
        status: SwapStatus::Completed,
        quote_id: details.quote_id,
        side: details.side,
        from: details.from,
        to: details.to,
        amount_in: amount(details.amount_in)?,
        amount_out: amount(details.amount_out)?,
        quoted_amount_in: amount(details.quoted_amount_in.unwrap_or(details.amount_in))?,
        quoted_amount_out: amount(details.quoted_amount_out.unwrap_or(details.amount_out))?,
        fee: amount(details.fee)?,
        fee_bps: details.fee_bps,
        price_impact_bps: details.price_impact_bps,
        slippage_bps: details.slippage_bps,
        quoted_price_in: price(details.quoted_price_in)?,
        quoted_price_out: price(details.quoted_price_out)?,
        price_in: price(details.price_in)?,
        price_out: price(details.price_out)?,
        created_at_ms: record.created_at.timestamp_millis(),
    })
}
