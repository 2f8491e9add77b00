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
    AccountId, HistoryQuery, IdempotencyKey, Leg, Receipt, SideWrite, SystemAccount, TransactionRequest,
};
use solstice_types::{
    ReferenceKind,
    swap::{ExecuteSwap, Quote, Swap, SwapPage, SwapSide, SwapStatus},
};

use crate::{
    SwapState,
    error::SwapError,
    model::{QUOTES, SwapDetails, amount, price, price_i64},
    pricing::{self, Prices},
    quotes::{live_prices, quote_view},
};

/// `POST /v1/swaps`: executes one of the caller's quotes at its terms, or fails and moves nothing.
pub(crate) async fn execute(
    State(state): State<SwapState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<ExecuteSwap>,
) -> Result<(StatusCode, axum::Json<Swap>), SwapError> {
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    if request.quote_id.len() > 64 {
        return Err(SwapError::QuoteNotFound);
    }
    let quote = state
        .quotes
        .find_one(doc! { "_id": &request.quote_id, "wallet": caller.wallet.as_str() })
        .await?
        .ok_or(SwapError::QuoteNotFound)?;
    let terms = quote_view(&quote)?;
    let now = DateTime::now();
    // Market prices now, recorded with the swap. A used quote is only ever a retry (which the
    // ledger answers with the first swap) or a second attempt (which the ledger refuses), so
    // its checks are left to the ledger.
    let mut executed_at =
        Prices { from: terms.from, to: terms.to, price_in: terms.price_in, price_out: terms.price_out };
    if !quote.used {
        if now > quote.expires_at {
            return Err(SwapError::QuoteExpired);
        }
        executed_at = live_prices(state.feed.as_ref(), terms.from, terms.to, now)?;
        check_slippage(&terms, &executed_at)?;
    }
    let wallet = AccountId::wallet(&caller.wallet);
    let treasury = AccountId::System(SystemAccount::Treasury);
    let mut legs = vec![
        Leg { from: wallet.clone(), to: treasury.clone(), token: terms.from, amount: terms.amount_in },
        Leg { from: treasury.clone(), to: wallet, token: terms.to, amount: terms.amount_out },
    ];
    if !terms.fee.is_zero() {
        legs.push(Leg {
            from: treasury,
            to: AccountId::System(SystemAccount::Fees),
            token: terms.to,
            amount: terms.fee,
        });
    }
    let details = SwapDetails {
        quote_id: quote.id.clone(),
        side: quote.side,
        from: quote.from,
        to: quote.to,
        amount_in: quote.amount_in,
        amount_out: quote.amount_out,
        fee: quote.fee,
        fee_bps: quote.fee_bps,
        price_impact_bps: quote.price_impact_bps,
        slippage_bps: quote.slippage_bps,
        quoted_price_in: quote.price_in,
        quoted_price_out: quote.price_out,
        price_in: price_i64(executed_at.price_in)?,
        price_out: price_i64(executed_at.price_out)?,
    };
    let key = IdempotencyKey::scoped("swp", &caller.wallet, client_key);
    let request = TransactionRequest::new(ReferenceKind::Swap, key, legs)
        .with_details(bson::to_document(&details)?)
        .with_side_write(SideWrite::Update {
            collection: QUOTES.to_owned(),
            filter: doc! { "_id": &quote.id, "used": false },
            update: doc! { "$set": { "used": true } },
        });
    let receipt = state.ledger.apply(request).await?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(swap_view(receipt)?)))
}

/// Refuses the fill when the market has moved past the quote's slippage tolerance.
fn check_slippage(quote: &Quote, now: &Prices) -> Result<(), SwapError> {
    let within = match quote.side {
        SwapSide::ExactIn => {
            pricing::exact_in(now, quote.amount_in).is_ok_and(|fill| fill.amount_out >= quote.min_received)
        }
        SwapSide::ExactOut => {
            pricing::exact_out(now, quote.amount_out).is_ok_and(|fill| fill.amount_in <= quote.max_sold)
        }
    };
    if within { Ok(()) } else { Err(SwapError::PriceMoved(quote.slippage_bps)) }
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
