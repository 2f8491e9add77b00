//! Quotes: a swap priced on the latest tick, with the bound it may fill within, for the quote
//! lifetime. A quote is not stored: its id carries its terms, sealed (see `sealed`).

use axum::{Extension, extract::State, http::StatusCode};
use mongodb::bson::DateTime;
use solstice_kit::{auth::Caller, extract::Json, input};
use solstice_market::{Unpriced, store::Ticks};
use solstice_types::{
    Amount, Token,
    swap::{DEFAULT_SLIPPAGE_BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS, Quote, QuoteRequest, SwapSide},
};

use crate::{
    SwapState,
    error::SwapError,
    pricing::{self, Fill, Prices},
    sealed::Terms,
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

/// `POST /v1/quotes`: firm terms for a swap, valid for the quote lifetime. Nothing is written:
/// a wallet may ask for as many quotes as it likes.
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
    let (prices, tick) = live_prices(&state.ticks, from, to, now)?;
    let filled = fill(&prices, request.side, amount)?;
    let (min_received, max_sold) = match request.side {
        SwapSide::ExactIn => (pricing::minus_bps(filled.amount_out, slippage_bps), filled.amount_in),
        SwapSide::ExactOut => {
            (filled.amount_out, pricing::plus_bps(filled.amount_in, slippage_bps).ok_or(SwapError::TooLarge)?)
        }
    };
    // Prices past what a record can hold are more than the exchange fills.
    for price in [prices.price_in, prices.price_out] {
        crate::model::price_i64(price)?;
    }
    let expires_at_ms = now.timestamp_millis() + state.quote_ttl.as_millis() as i64;
    let terms = Terms {
        from,
        to,
        side: request.side,
        slippage_bps: slippage_bps as u16,
        fee_bps: pricing::FEE_BPS as u16,
        amount_in: filled.amount_in,
        amount_out: filled.amount_out,
        min_received,
        max_sold,
        price_in: prices.price_in,
        price_out: prices.price_out,
        expires_at_ms,
        nonce: rand::random(),
    };
    let quote = Quote {
        id: state.quote_key.seal(&caller.wallet, &terms),
        from,
        to,
        side: request.side,
        amount_in: filled.amount_in,
        amount_out: filled.amount_out,
        fee: filled.fee,
        fee_bps: pricing::FEE_BPS,
        price_impact_bps: filled.price_impact_bps,
        price_in: prices.price_in,
        price_out: prices.price_out,
        tick,
        slippage_bps,
        min_received,
        max_sold,
        quoted_at_ms: now.timestamp_millis(),
        expires_at_ms,
    };
    Ok((StatusCode::CREATED, axum::Json(quote)))
}
