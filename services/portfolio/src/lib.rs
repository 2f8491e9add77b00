//! The portfolio service: what a wallet holds, valued at live prices.
//!
//! It only reads. Its whole view of the database is a [`LedgerReader`], which has no method
//! that writes; in production it should also connect as a MongoDB user with only the `read`
//! role, so that even a bug here could not change a balance.

mod activity;
mod history;
mod openapi;

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use axum::{
    Extension, Json, Router,
    extract::{Path, State},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use clap::Parser;
use mongodb::Collection;
use solstice_kit::{
    auth::{Caller, Verifier, require_signature},
    error::ErrorResponse,
    extract::Query,
    http::with_operations,
    input,
    start::{CommonConfig, Service, StartError},
};
use solstice_ledger::{AccountId, LedgerError, LedgerReader, database_error};
use solstice_market::store::{MarketStore, Ticks};
use solstice_stake::{STAKE_ACCOUNTS, StakeDoc, model::staked_by};
use solstice_types::{
    Amount, ApiError, ErrorCode, ToApiError, Token, UsdPrice, UsdValue, WalletAddress,
    activity::{ActivityFilter, ActivityPage, ActivityRow},
    portfolio::{Holding, Portfolio, Staked, ValueHistory, ValueRange},
};

/// What can go wrong valuing a wallet.
#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    /// A held token has never had a price (or the total overflowed): better no answer than a
    /// wrong one.
    #[error("Prices are unavailable right now.")]
    PricesUnavailable,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the stake account store")]
    Store(#[from] mongodb::error::Error),
    #[error(transparent)]
    Invalid(#[from] ApiError),
    #[error("No activity with that reference number in this wallet.")]
    NotFound,
    /// A stored record this service cannot read.
    #[error("unreadable record {0}")]
    Corrupt(String),
}

impl ToApiError for PortfolioError {
    fn to_api_error(&self) -> ApiError {
        match self {
            PortfolioError::PricesUnavailable => ApiError::new(ErrorCode::Unavailable, self.to_string()),
            PortfolioError::Ledger(error) => error.to_api_error(),
            PortfolioError::Store(error) => database_error(error),
            PortfolioError::Invalid(error) => error.clone(),
            PortfolioError::NotFound => ApiError::new(ErrorCode::NotFound, self.to_string()),
            PortfolioError::Corrupt(reference) => {
                tracing::error!(%reference, "unreadable ledger record");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for PortfolioError {
    fn into_response(self) -> Response {
        ErrorResponse::from(self).into_response()
    }
}

/// Solstice portfolio service.
#[derive(Clone, Parser)]
#[command(name = "solstice-portfolio", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "PORTFOLIO_ADDR", default_value = "127.0.0.1:3101")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
    /// Prices older than this many seconds are stale: values are shown as of their time.
    #[arg(long, env = "SOLSTICE_PRICE_FRESHNESS_SECONDS", default_value_t = 10)]
    pub freshness_seconds: u64,
}

impl Config {
    /// A service on a free port over `database`, trusting the tests' host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            freshness_seconds: 10,
        }
    }
}

/// Connects to the database and binds the configured port.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (verifier, _client, database) = config.common.connect("solstice-portfolio").await?;
    let ticks = Ticks::follow(&database, Duration::from_secs(config.freshness_seconds.max(1)));
    let state = PortfolioState {
        reader: LedgerReader::new(&database),
        stakes: database.collection(STAKE_ACCOUNTS),
        ticks,
        market: MarketStore::new(&database),
    };
    let router = with_operations(api(state, verifier), "portfolio", database, openapi::document());
    config.common.bind(config.addr, router).await
}

/// What every request of the portfolio service shares: nothing that can write.
#[derive(Clone)]
struct PortfolioState {
    reader: LedgerReader,
    /// The stake service's accounts, only ever read here.
    stakes: Collection<StakeDoc>,
    /// The market recorder's ticks, followed in the store.
    ticks: Ticks,
    /// The recorder's stored prices, for the value of past activity.
    market: MarketStore,
}

fn api(state: PortfolioState, verifier: Verifier) -> Router {
    Router::new()
        .route("/v1/portfolio", get(portfolio))
        .route("/v1/portfolio/history", get(value_history))
        .route("/v1/activity", get(activity))
        .route("/v1/activity/{reference}", get(activity_row))
        .layer(middleware::from_fn_with_state(verifier, require_signature))
        .with_state(state)
}

/// `GET /v1/portfolio`: the calling wallet's holdings.
async fn portfolio(
    State(state): State<PortfolioState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Portfolio>, PortfolioError> {
    let balances = state.reader.balances(&AccountId::wallet(&caller.wallet)).await?;
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    let staked = staked_by(&state.stakes, &caller.wallet).await?;
    let price_of = |token| state.ticks.last_known(token).map(|(price, at_ms)| (price.price, price.open_24h, at_ms));
    let freshness_ms = state.ticks.freshness().as_millis() as i64;
    let portfolio = value(caller.wallet, &balances, staked, price_of, now_ms, freshness_ms)?;
    Ok(Json(portfolio))
}

#[derive(serde::Deserialize)]
struct HistoryParams {
    range: Option<String>,
}

/// `GET /v1/portfolio/history?range=24h|7d|30d|all`: the calling wallet's value over the range
/// (staked SOL included) and what each holding cost.
async fn value_history(
    State(state): State<PortfolioState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<ValueHistory>, PortfolioError> {
    let range = match params.range.as_deref() {
        None => ValueRange::Day,
        Some(text) => ValueRange::parse(text)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "The range must be one of: 24h, 7d, 30d, all."))?,
    };
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    Ok(Json(history::history(&state, &caller.wallet, range, now_ms).await?))
}

/// Query parameters of `GET /v1/activity`.
#[derive(serde::Deserialize)]
struct ActivityParams {
    kind: Option<String>,
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/activity`: a page of the calling wallet's activity, newest first.
async fn activity(
    State(state): State<PortfolioState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<ActivityParams>,
) -> Result<Json<ActivityPage>, PortfolioError> {
    // The host sends only the filters a person gave: an empty value is a mistake here.
    let kind = params.kind.as_deref().map(input::activity_kind).transpose()?;
    let token = params.token.as_deref().map(input::token).transpose()?;
    let filter = ActivityFilter { kind, token, from: params.from, to: params.to };
    let checked = activity::check(&filter)?;
    let before = params.before.as_deref().map(input::reference).transpose()?;
    // Up to a thousand rows a page: the CSV export reads whole histories page by page.
    let limit = match params.limit {
        None => input::DEFAULT_PAGE,
        Some(limit @ 1..=1_000) => limit,
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidInput, "Ask for 1 to 1,000 rows per page.").into()),
    };
    Ok(Json(activity::page(&state, &caller.wallet, &checked, before.as_ref(), limit).await?))
}

/// `GET /v1/activity/{reference}`: one row of the calling wallet's activity.
async fn activity_row(
    State(state): State<PortfolioState>,
    Extension(caller): Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<Json<ActivityRow>, PortfolioError> {
    let reference = input::reference(&reference)?;
    activity::find(&state, &caller.wallet, &reference).await?.map(Json).ok_or(PortfolioError::NotFound)
}

/// A token's price to value it at: the price, the price a day before (when known) and when
/// it was taken (Unix milliseconds).
type Priced = (UsdPrice, Option<UsdPrice>, i64);

/// Values `balances` and the staked SOL at each token's latest price (`price_of`). Prices
/// older than `freshness_ms` at `now_ms` make the answer stale: values as of their time.
fn value(
    wallet: WalletAddress,
    balances: &BTreeMap<Token, Amount>,
    (staked_amount, staked_rewards): (Amount, Amount),
    price_of: impl Fn(Token) -> Option<Priced>,
    now_ms: i64,
    freshness_ms: i64,
) -> Result<Portfolio, PortfolioError> {
    let unavailable = || PortfolioError::PricesUnavailable;
    let mut priced_at_ms = now_ms;
    let mut price = |token: Token| -> Result<(UsdPrice, Option<UsdPrice>), PortfolioError> {
        let (price, then, at_ms) = price_of(token).ok_or_else(unavailable)?;
        priced_at_ms = priced_at_ms.min(at_ms);
        Ok((price, then))
    };
    let mut holdings = Vec::new();
    let mut total = UsdValue::ZERO;
    // The same holdings at yesterday's prices, for the total's 24-hour change.
    let mut total_then = Some(UsdValue::ZERO);
    for (token, amount) in balances.iter().filter(|(_, amount)| !amount.is_zero()) {
        let (price, then) = price(*token)?;
        let value = price.value_of(*amount, token.decimals());
        total = total.checked_add(value).ok_or_else(unavailable)?;
        total_then = match (total_then, then) {
            (Some(sum), Some(then)) => sum.checked_add(then.value_of(*amount, token.decimals())),
            _ => None,
        };
        holdings.push(Holding {
            token: *token,
            amount: *amount,
            price,
            value,
            change_24h_bps: then.map(|then| price.change_bps_since(then)),
            share_bps: 0,
        });
    }
    // Staked SOL counts in the total at SOL's price.
    let mut staked = Staked { amount: staked_amount, rewards: staked_rewards, ..Staked::default() };
    if !staked_amount.is_zero() {
        let (price, then) = price(Token::Sol)?;
        staked.value = price.value_of(staked_amount, Token::Sol.decimals());
        total = total.checked_add(staked.value).ok_or_else(unavailable)?;
        total_then = match (total_then, then) {
            (Some(sum), Some(then)) => sum.checked_add(then.value_of(staked_amount, Token::Sol.decimals())),
            _ => None,
        };
    }
    for holding in &mut holdings {
        holding.share_bps = holding.value.share_bps_of(total);
    }
    staked.share_bps = staked.value.share_bps_of(total);
    holdings.sort_by(|a, b| b.value.cmp(&a.value).then(a.token.cmp(&b.token)));
    let change_24h_bps = total_then.filter(|then| then.picodollars() > 0).map(|then| {
        let delta = total.picodollars() as i128 - then.picodollars() as i128;
        (delta * 10_000 / then.picodollars() as i128) as i64
    });
    let prices_stale = now_ms - priced_at_ms > freshness_ms;
    Ok(Portfolio { wallet, holdings, staked, total_value: total, change_24h_bps, priced_at_ms, prices_stale })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING_STAKED: (Amount, Amount) = (Amount::ZERO, Amount::ZERO);
    const NOW: i64 = 1_000_000_000_000;
    const FRESH: i64 = 10_000;

    fn dollars(d: u64) -> UsdPrice {
        UsdPrice::from_picodollars(d * 1_000_000_000_000)
    }

    /// SOL at $200 (a day ago $100) and USDC at $1, priced `age_ms` ago; nothing else.
    fn prices(age_ms: i64) -> impl Fn(Token) -> Option<Priced> {
        move |token| match token {
            Token::Sol => Some((dollars(200), Some(dollars(100)), NOW - age_ms)),
            Token::Usdc => Some((dollars(1), Some(dollars(1)), NOW - age_ms)),
            _ => None,
        }
    }

    fn wallet() -> WalletAddress {
        WalletAddress::from_public_key(&[1; 32])
    }

    #[test]
    fn staked_sol_counts_in_the_total_and_its_change() {
        let balances = BTreeMap::from([(Token::Usdc, Amount::parse("100", 6).unwrap())]);
        let staked = (Amount::parse("0.5", 9).unwrap(), Amount::parse("0.01", 9).unwrap());
        let portfolio = value(wallet(), &balances, staked, prices(0), NOW, FRESH).unwrap();
        assert_eq!(portfolio.staked.value.format(), "$100.00");
        assert_eq!(portfolio.staked.rewards, Amount::parse("0.01", 9).unwrap());
        assert_eq!(portfolio.total_value.format(), "$200.00");
        assert_eq!(portfolio.staked.share_bps, 5_000);
        // Yesterday: $50 staked + $100; today $200: +33.33 %.
        assert_eq!(portfolio.change_24h_bps, Some(3_333));
        assert!(!portfolio.prices_stale);
    }

    #[test]
    fn holdings_are_valued_shared_and_sorted_by_value() {
        let balances = BTreeMap::from([
            (Token::Usdc, Amount::parse("100", 6).unwrap()),
            (Token::Sol, Amount::parse("1.5", 9).unwrap()),
            (Token::Jup, Amount::ZERO),
        ]);
        let portfolio = value(wallet(), &balances, NOTHING_STAKED, prices(0), NOW, FRESH).unwrap();
        assert_eq!(portfolio.holdings.iter().map(|h| h.token).collect::<Vec<_>>(), [Token::Sol, Token::Usdc]);
        assert_eq!(portfolio.holdings[0].value.format(), "$300.00");
        assert_eq!(portfolio.total_value.format(), "$400.00");
        assert_eq!(portfolio.holdings[0].share_bps, 7_500);
        assert_eq!(portfolio.holdings[1].share_bps, 2_500);
        assert_eq!(portfolio.holdings[0].change_24h_bps, Some(10_000));
        // Yesterday: 1.5 SOL at $100 + $100 = $250; today $400: +60%.
        assert_eq!(portfolio.change_24h_bps, Some(6_000));
    }

    #[test]
    fn old_prices_value_the_wallet_as_of_their_time_and_say_so() {
        let balances = BTreeMap::from([(Token::Sol, Amount::parse("1", 9).unwrap())]);
        let portfolio = value(wallet(), &balances, NOTHING_STAKED, prices(60_000), NOW, FRESH).unwrap();
        assert_eq!(portfolio.total_value.format(), "$200.00");
        assert!(portfolio.prices_stale);
        assert_eq!(portfolio.priced_at_ms, NOW - 60_000);
    }

    #[test]
    fn an_empty_wallet_is_worth_nothing() {
        let portfolio = value(wallet(), &BTreeMap::new(), NOTHING_STAKED, prices(0), NOW, FRESH).unwrap();
        assert!(portfolio.holdings.is_empty());
        assert_eq!(portfolio.total_value, UsdValue::ZERO);
        assert_eq!(portfolio.change_24h_bps, None);
    }

    #[test]
    fn a_token_never_priced_makes_the_answer_unavailable_not_wrong() {
        let balances = BTreeMap::from([(Token::Jup, Amount::parse("1", 6).unwrap())]);
        let error = value(wallet(), &balances, NOTHING_STAKED, prices(0), NOW, FRESH).unwrap_err();
        assert_eq!(error.to_api_error().code, ErrorCode::Unavailable);
    }
}
