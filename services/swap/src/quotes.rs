//! Quotes: a swap priced on the latest tick, with the bound it may fill within, for the quote
//! lifetime.

use axum::{Extension, extract::State, http::StatusCode};
use mongodb::bson::{DateTime, doc};
use solstice_kit::{auth::Caller, extract::Json, input};
use solstice_market::{Unpriced, store::Ticks};
use solstice_types::{
    Amount, Token,
    swap::{DEFAULT_SLIPPAGE_BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS, Quote, QuoteRequest, SwapSide},
};

use crate::{
    SwapState,
    error::SwapError,
    model::{QuoteDoc, amount, price, price_i64},
    pricing::{self, Fill, Prices},
};

/// Both tokens' prices on the latest tick, and that tick's number; refused when the tick is
/// stale or lacks a price, or when the sources disagree about one of the tokens.
pub(crate) fn live_prices(ticks: &Ticks, from: Token, to: Token, now: DateTime) -> Result<(Prices, u64), SwapError> {
    let tick = ticks.latest().ok_or(SwapError::PriceStale)?;
    let now_ms = now.timestamp_millis();
    let price_of = |token| {
        tick.tradable(token, now_ms, ticks.freshness()).map_err(|unpriced| match unpriced {
            Unpriced::Suspect(token) => SwapError::PriceSuspect(token),
            Unpriced::Stale | Unpriced::Missing(_) => SwapError::PriceStale,
        })
    };
    Ok((Prices { from, to, price_in: price_of(from)?, price_out: price_of(to)? }, tick.seq))
}

/// The fill of `side` for `amount` at `prices`.
pub(crate) fn fill(prices: &Prices, side: SwapSide, amount: Amount) -> Result<Fill, SwapError> {
    Ok(match side {
        SwapSide::ExactIn => pricing::exact_in(prices, amount)?,
        SwapSide::ExactOut => pricing::exact_out(prices, amount)?,
    })
}

/// `POST /v1/quotes`: firm terms for a swap, valid for the quote lifetime.
pub(crate) async fn quote(
    State(state): State<SwapState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<QuoteRequest>,
) -> Result<(StatusCode, axum::Json<Quote>), SwapError> {
    let from = input::token(&request.from)?;
    let to = input::token(&request.to)?;
    if from == to {
        return Err(SwapError::SameToken);
    }
    let fixed = if request.side == SwapSide::ExactIn { from } else { to };
    let amount = input::positive_amount(&request.amount, fixed)?;
    let slippage_bps = request.slippage_bps.unwrap_or(DEFAULT_SLIPPAGE_BPS);
    if !(MIN_SLIPPAGE_BPS..=MAX_SLIPPAGE_BPS).contains(&slippage_bps) {
        return Err(SwapError::SlippageOutOfRange);
    }
    let now = DateTime::now();
    // The wallet's open quotes are counted once this one is stored (below), so that requests of
    // one wallet racing each other cannot pass the limit together.
    let open_quotes = doc! { "wallet": caller.wallet.as_str(), "expires_at": { "$gt": now }, "used": false };
    let (prices, tick) = live_prices(&state.ticks, from, to, now)?;
    let terms = fill(&prices, request.side, amount)?;
    let (min_received, max_sold) = match request.side {
        SwapSide::ExactIn => (pricing::minus_bps(terms.amount_out, slippage_bps), terms.amount_in),
        SwapSide::ExactOut => {
            (terms.amount_out, pricing::plus_bps(terms.amount_in, slippage_bps).ok_or(SwapError::TooLarge)?)
        }
    };
    let expires_at = DateTime::from_millis(now.timestamp_millis() + state.quote_ttl.as_millis() as i64);
    let record = QuoteDoc {
        id: format!("q_{:032x}", rand::random::<u128>()),
        wallet: caller.wallet.to_string(),
        from,
        to,
        side: request.side,
        amount_in: terms.amount_in.as_i64(),
        amount_out: terms.amount_out.as_i64(),
        fee: terms.fee.as_i64(),
        fee_bps: pricing::FEE_BPS,
        price_impact_bps: terms.price_impact_bps,
        price_in: price_i64(prices.price_in)?,
        price_out: price_i64(prices.price_out)?,
        tick: tick as i64,
        slippage_bps,
        min_received: min_received.as_i64(),
        max_sold: max_sold.as_i64(),
        quoted_at: now,
        expires_at,
        used: false,
    };
    state.quotes.insert_one(&record).await?;
    // Each racing request sees its own quote and every one inserted before it counts: the last
    // to count sees all that stay, so no more than the limit stay (some racing ones may both
    // withdraw, which only errs on the safe side).
    if state.quotes.count_documents(open_quotes).await? > u64::from(state.max_open_quotes) {
        state.quotes.delete_one(doc! { "_id": &record.id }).await?;
        return Err(SwapError::TooManyQuotes(state.max_open_quotes, state.quote_ttl.as_secs()));
    }
    Ok((StatusCode::CREATED, axum::Json(quote_view(&record)?)))
}

/// A stored quote as the API shows it.
pub(crate) fn quote_view(quote: &QuoteDoc) -> Result<Quote, SwapError> {
    Ok(Quote {
        id: quote.id.clone(),
        from: quote.from,
        to: quote.to,
        side: quote.side,
        amount_in: amount(quote.amount_in)?,
        amount_out: amount(quote.amount_out)?,
        fee: amount(quote.fee)?,
        fee_bps: quote.fee_bps,
        price_impact_bps: quote.price_impact_bps,
        price_in: price(quote.price_in)?,
        price_out: price(quote.price_out)?,
        tick: quote.tick.max(0) as u64,
        slippage_bps: quote.slippage_bps,
        min_received: amount(quote.min_received)?,
        max_sold: amount(quote.max_sold)?,
        quoted_at_ms: quote.quoted_at.timestamp_millis(),
        expires_at_ms: quote.expires_at.timestamp_millis(),
    })
}
