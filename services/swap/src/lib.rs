//! The swap service: the platform's exchange.
//!
//! Quote, then execute. A quote fixes the terms of a swap at the live prices (amounts, fee,
//! price impact, the bound set by the user's slippage tolerance) for a short time; executing
//! it fills at exactly those terms, in one ledger transaction against the exchange's treasury
//! (the fee goes to the fee account), or fails and moves nothing: when the quote expired, when
//! the price has since moved past the tolerance, when the price feed is stale, or when funds
//! are short. The same transaction marks the quote used, so a quote fills at most once.

mod openapi;
pub mod pricing;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Extension, Router,
    extract::{Path, State},
    http::StatusCode,
    middleware,
    routing::{get, post},
};
use clap::Parser;
use mongodb::{
    Collection, IndexModel,
    bson::{self, DateTime, doc},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};
use solstice_ledger::{
    AccountId, HistoryQuery, IdempotencyKey, Ledger, LedgerError, Leg, Receipt, SideWrite, SystemAccount,
    TransactionRequest,
};
use solstice_market::{PriceFeed, SimulatedMarket};
use solstice_service::{
    auth::{Caller, ServiceSecret, require_signature},
    error::{self, ErrorResponse, internal},
    extract::{Json, Query},
    http::with_operations,
    input,
    openapi::{MAX_DATE_MS, MIN_DATE_MS},
    start::{CommonConfig, Service, StartError},
};
use solstice_types::{
    Amount, ApiError, ErrorCode, ReferenceKind, Token, UsdPrice, format_bps,
    swap::{
        DEFAULT_SLIPPAGE_BPS, ExecuteSwap, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS, Quote, QuoteRequest, Swap, SwapPage,
        SwapSide, SwapStatus,
    },
};

use crate::pricing::{Fill, Prices, PricingError};

/// Collection of [`QuoteDoc`].
pub const QUOTES: &str = "swap_quotes";

/// Solstice swap service.
#[derive(Clone, Parser)]
#[command(name = "solstice-swap", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SWAP_ADDR", default_value = "127.0.0.1:3103")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
    /// Seed of the simulated market: the same as the host's, so that quotes match the prices
    /// users see.
    #[arg(long, env = "SOLSTICE_MARKET_SEED", default_value_t = 2026)]
    pub market_seed: u64,
    /// How long a quote can be executed, in seconds.
    #[arg(long, env = "SWAP_QUOTE_TTL_SECONDS", default_value_t = 30)]
    pub quote_ttl_seconds: u32,
}

impl Config {
    /// A service on a free port over `database`, with the secret the tests share with the host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            market_seed: 2026,
            quote_ttl_seconds: 30,
        }
    }
}

/// The service over the simulated market of the configured seed.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let feed = Arc::new(SimulatedMarket::new(config.market_seed));
    build_with_feed(config, feed).await
}

/// The service over any price feed (a real exchange's, or one a test controls).
pub async fn build_with_feed(config: Config, feed: Arc<dyn PriceFeed>) -> Result<Service, StartError> {
    let (secret, client, database) = config.common.connect("solstice-swap").await?;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(|e| StartError(format!("preparing the ledger: {e}")))?;
    let quotes: Collection<QuoteDoc> = database.collection(QUOTES);
    // Quotes are kept a day after they expire (to tell "expired" from "unknown"), then purged.
    let purge = IndexOptions::builder().expire_after(Duration::from_secs(86_400)).name("purge".to_owned()).build();
    quotes
        .create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(purge).build())
        .await
        .map_err(|e| StartError(format!("creating the quote index: {}", e.kind)))?;
    let ttl = Duration::from_secs(u64::from(config.quote_ttl_seconds.max(1)));
    let state = AppState { ledger, quotes, feed, quote_ttl: ttl };
    let router = with_operations(api(state, secret), "swap", database, openapi::document());
    config.common.bind(config.addr, router).await
}

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    quotes: Collection<QuoteDoc>,
    feed: Arc<dyn PriceFeed>,
    quote_ttl: Duration,
}

fn api(state: AppState, secret: ServiceSecret) -> Router {
    Router::new()
        .route("/v1/quotes", post(quote))
        .route("/v1/swaps", get(history).post(execute))
        .route("/v1/swaps/{reference}", get(by_reference))
        .layer(middleware::from_fn_with_state(secret, require_signature))
        .with_state(state)
}

/// A quote as stored: the API's [`Quote`] plus its owner and whether it was used.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QuoteDoc {
    #[serde(rename = "_id")]
    id: String,
    wallet: String,
    from: Token,
    to: Token,
    side: SwapSide,
    amount_in: i64,
    amount_out: i64,
    fee: i64,
    fee_bps: u32,
    price_impact_bps: u32,
    price_in: i64,
    price_out: i64,
    slippage_bps: u32,
    min_received: i64,
    max_sold: i64,
    quoted_at: DateTime,
    expires_at: DateTime,
    used: bool,
}

/// What a swap's ledger record carries besides its legs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SwapDetails {
    quote_id: String,
    side: SwapSide,
    from: Token,
    to: Token,
    amount_in: i64,
    amount_out: i64,
    fee: i64,
    fee_bps: u32,
    price_impact_bps: u32,
    slippage_bps: u32,
    quoted_price_in: i64,
    quoted_price_out: i64,
    price_in: i64,
    price_out: i64,
}

fn err(code: ErrorCode, message: impl Into<String>) -> ErrorResponse {
    ErrorResponse(ApiError::new(code, message))
}

/// The live prices of both tokens, or "stale" when the feed has none for this second.
fn live_prices(feed: &dyn PriceFeed, from: Token, to: Token, now: DateTime) -> Result<Prices, ErrorResponse> {
    let second = now.timestamp_millis().div_euclid(1_000);
    let stale =
        || err(ErrorCode::PriceStale, "Live prices are unavailable right now, so swaps are paused. Try again shortly.");
    Ok(Prices {
        from,
        to,
        price_in: feed.price_at(from, second).map_err(|_| stale())?,
        price_out: feed.price_at(to, second).map_err(|_| stale())?,
    })
}

fn pricing_error(error: PricingError) -> ErrorResponse {
    match error {
        PricingError::TooSmall => err(ErrorCode::InvalidAmount, "That amount is too small to swap."),
        PricingError::TooLarge => {
            err(ErrorCode::InsufficientLiquidity, "That amount is too large for the exchange right now.")
        }
    }
}

/// The fill of `side` for `amount` at `prices`.
fn fill(prices: &Prices, side: SwapSide, amount: Amount) -> Result<Fill, ErrorResponse> {
    match side {
        SwapSide::ExactIn => pricing::exact_in(prices, amount),
        SwapSide::ExactOut => pricing::exact_out(prices, amount),
    }
    .map_err(pricing_error)
}

/// `POST /v1/quotes`: firm terms for a swap, valid for the quote lifetime.
async fn quote(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<QuoteRequest>,
) -> Result<(StatusCode, axum::Json<Quote>), ErrorResponse> {
    let from = input::token(&request.from)?;
    let to = input::token(&request.to)?;
    if from == to {
        return Err(err(ErrorCode::InvalidInput, "Choose two different tokens."));
    }
    let fixed = if request.side == SwapSide::ExactIn { from } else { to };
    let amount = input::positive_amount(&request.amount, fixed)?;
    let slippage_bps = request.slippage_bps.unwrap_or(DEFAULT_SLIPPAGE_BPS);
    if !(MIN_SLIPPAGE_BPS..=MAX_SLIPPAGE_BPS).contains(&slippage_bps) {
        return Err(err(ErrorCode::InvalidInput, "Choose a slippage tolerance between 0.01% and 5%."));
    }
    let now = DateTime::now();
    let prices = live_prices(state.feed.as_ref(), from, to, now)?;
    let terms = fill(&prices, request.side, amount)?;
    let (min_received, max_sold) = match request.side {
        SwapSide::ExactIn => (pricing::minus_bps(terms.amount_out, slippage_bps), terms.amount_in),
        SwapSide::ExactOut => (
            terms.amount_out,
            pricing::plus_bps(terms.amount_in, slippage_bps).ok_or_else(|| pricing_error(PricingError::TooLarge))?,
        ),
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
        slippage_bps,
        min_received: min_received.as_i64(),
        max_sold: max_sold.as_i64(),
        quoted_at: now,
        expires_at,
        used: false,
    };
    state.quotes.insert_one(&record).await.map_err(|error| internal("storing a quote", &error))?;
    Ok((StatusCode::CREATED, axum::Json(quote_view(&record)?)))
}

/// `POST /v1/swaps`: executes one of the caller's quotes at its terms, or fails and moves nothing.
async fn execute(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<ExecuteSwap>,
) -> Result<(StatusCode, axum::Json<Swap>), ErrorResponse> {
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    let not_found = || err(ErrorCode::NotFound, "This quote does not exist. Get a new quote.");
    if request.quote_id.len() > 64 {
        return Err(not_found());
    }
    let quote = state
        .quotes
        .find_one(doc! { "_id": &request.quote_id, "wallet": caller.wallet.as_str() })
        .await
        .map_err(|error| internal("reading a quote", &error))?
        .ok_or_else(not_found)?;
    let terms = quote_view(&quote)?;
    let now = DateTime::now();
    // Market prices now, recorded with the swap. A used quote is only ever a retry (which the
    // ledger answers with the first swap) or a second attempt (which the ledger refuses), so
    // its checks are left to the ledger.
    let mut executed_at =
        Prices { from: terms.from, to: terms.to, price_in: terms.price_in, price_out: terms.price_out };
    if !quote.used {
        if now > quote.expires_at {
            return Err(err(ErrorCode::QuoteExpired, "This quote expired. Get a new quote to swap at the live price."));
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
    let details = bson::to_document(&details).map_err(|error| internal("recording a swap", &error))?;
    let key = IdempotencyKey::new(format!("swp:{}:{client_key}", caller.wallet)).map_err(|_| ApiError::internal())?;
    let request = TransactionRequest::new(ReferenceKind::Swap, key, legs).with_details(details).with_side_write(
        SideWrite::Update {
            collection: QUOTES.to_owned(),
            filter: doc! { "_id": &quote.id, "used": false },
            update: doc! { "$set": { "used": true } },
        },
    );
    let receipt = state.ledger.apply(request).await.map_err(|error| match error {
        LedgerError::InsufficientFunds { account: AccountId::Wallet(_), token } => {
            err(ErrorCode::InsufficientFunds, format!("Your {token} balance is too low for this swap."))
        }
        LedgerError::InsufficientFunds { token, .. } => err(
            ErrorCode::InsufficientLiquidity,
            format!("The exchange cannot deliver this much {token} right now. Try a smaller amount."),
        ),
        LedgerError::Precondition(_) => err(ErrorCode::Conflict, "This quote was already used. Get a new quote."),
        other => error::ledger("executing a swap", other),
    })?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(swap_view(receipt)?)))
}

/// Refuses the fill when the market has moved past the quote's slippage tolerance.
fn check_slippage(quote: &Quote, now: &Prices) -> Result<(), ErrorResponse> {
    let moved = || {
        err(
            ErrorCode::PriceMoved,
            format!(
                "The price moved more than your {} slippage tolerance since this quote. Review the new quote.",
                format_bps(quote.slippage_bps)
            ),
        )
    };
    match quote.side {
        SwapSide::ExactIn => match pricing::exact_in(now, quote.amount_in) {
            Ok(fill) if fill.amount_out >= quote.min_received => Ok(()),
            _ => Err(moved()),
        },
        SwapSide::ExactOut => match pricing::exact_out(now, quote.amount_out) {
            Ok(fill) if fill.amount_in <= quote.max_sold => Ok(()),
            _ => Err(moved()),
        },
    }
}

#[derive(Deserialize)]
struct HistoryParams {
    token: Option<String>,
    /// Unix milliseconds, inclusive.
    since: Option<i64>,
    /// Unix milliseconds, exclusive.
    until: Option<i64>,
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/swaps`: the caller's swaps, newest first, optionally of one token and a date range.
async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<SwapPage>, ErrorResponse> {
    let token = params.token.as_deref().filter(|t| !t.is_empty()).map(input::token).transpose()?;
    let time = |ms: Option<i64>| -> Result<Option<chrono::DateTime<chrono::Utc>>, ErrorResponse> {
        ms.map(|ms| {
            // Years 1 to 9999: what every store (and every date picker) can represent.
            (MIN_DATE_MS..=MAX_DATE_MS)
                .contains(&ms)
                .then(|| chrono::DateTime::from_timestamp_millis(ms))
                .flatten()
                .ok_or_else(|| err(ErrorCode::InvalidInput, "That date is out of range."))
        })
        .transpose()
    };
    let (since, until) = (time(params.since)?, time(params.until)?);
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(err(ErrorCode::InvalidInput, "The start date must be before the end date."));
    }
    let before = params.before.as_deref().map(input::reference).transpose()?;
    let limit = input::page_limit(params.limit)?;
    let query = HistoryQuery { kind: ReferenceKind::Swap, token, since, until, before, limit };
    let page = state
        .ledger
        .reader()
        .history(&AccountId::wallet(&caller.wallet), &query)
        .await
        .map_err(|error| error::ledger("reading swaps", error))?;
    let next_before = page.next_before;
    let swaps = page.records.into_iter().map(swap_view).collect::<Result<_, _>>()?;
    Ok(axum::Json(SwapPage { swaps, next_before }))
}

/// `GET /v1/swaps/{reference}`: one of the caller's swaps.
async fn by_reference(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<axum::Json<Swap>, ErrorResponse> {
    let reference = input::reference(&reference)?;
    let not_found = || err(ErrorCode::NotFound, format!("You have no swap {reference}."));
    if reference.kind() != ReferenceKind::Swap {
        return Err(not_found());
    }
    let record = state
        .ledger
        .reader()
        .record_of(&AccountId::wallet(&caller.wallet), &reference)
        .await
        .map_err(|error| error::ledger("reading a swap", error))?
        .ok_or_else(not_found)?;
    Ok(axum::Json(swap_view(record)?))
}

fn price_i64(price: UsdPrice) -> Result<i64, ErrorResponse> {
    i64::try_from(price.picodollars()).map_err(|_| pricing_error(PricingError::TooLarge))
}

fn corrupt(what: &str) -> ErrorResponse {
    internal("reading stored swap data", &LedgerError::Corrupt(what.to_owned()))
}

fn amount(units: i64) -> Result<Amount, ErrorResponse> {
    u64::try_from(units).ok().and_then(Amount::from_base_units).ok_or_else(|| corrupt("amount"))
}

fn price(picodollars: i64) -> Result<UsdPrice, ErrorResponse> {
    u64::try_from(picodollars).map(UsdPrice::from_picodollars).map_err(|_| corrupt("price"))
}

fn quote_view(quote: &QuoteDoc) -> Result<Quote, ErrorResponse> {
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
        slippage_bps: quote.slippage_bps,
        min_received: amount(quote.min_received)?,
        max_sold: amount(quote.max_sold)?,
        quoted_at_ms: quote.quoted_at.timestamp_millis(),
        expires_at_ms: quote.expires_at.timestamp_millis(),
    })
}

fn swap_view(record: Receipt) -> Result<Swap, ErrorResponse> {
    let details = record.details.ok_or_else(|| corrupt("swap without details"))?;
    let details: SwapDetails = bson::from_document(details).map_err(|_| corrupt("swap details"))?;
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
