//! The portfolio service: what a wallet holds, valued at live prices.
//!
//! It only reads. Its whole view of the database is a [`LedgerReader`], which has no method
//! that writes; in production it should also connect as a MongoDB user with only the `read`
//! role, so that even a bug here could not change a balance.

mod openapi;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use axum::{
    Extension, Json, Router,
    extract::State,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use clap::Parser;
use mongodb::Collection;
use solstice_kit::{
    auth::{Caller, ServiceSecret, require_signature},
    error::ErrorResponse,
    http::with_operations,
    start::{CommonConfig, Service, StartError},
};
use solstice_ledger::{AccountId, LedgerError, LedgerReader, database_error};
use solstice_market::{PriceFeed, SimulatedMarket};
use solstice_stake::{STAKE_ACCOUNTS, StakeDoc, model::staked_by};
use solstice_types::{
    Amount, ApiError, ErrorCode, ToApiError, Token, UsdValue, WalletAddress,
    portfolio::{Holding, Portfolio, Staked},
};

const DAY: i64 = 86_400;

/// What can go wrong valuing a wallet.
#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    /// A held token has no price now (or the total overflowed): better no answer than a wrong one.
    #[error("Prices are unavailable right now.")]
    PricesUnavailable,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the stake account store")]
    Store(#[from] mongodb::error::Error),
}

impl ToApiError for PortfolioError {
    fn to_api_error(&self) -> ApiError {
        match self {
            PortfolioError::PricesUnavailable => ApiError::new(ErrorCode::Unavailable, self.to_string()),
            PortfolioError::Ledger(error) => error.to_api_error(),
            PortfolioError::Store(error) => database_error(error),
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
    /// Seed of the simulated market: the same as the host's, so that both show the same prices.
    #[arg(long, env = "SOLSTICE_MARKET_SEED", default_value_t = 2026)]
    pub market_seed: u64,
}

impl Config {
    /// A service on a free port over `database`, with the secret the tests share with the host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
            market_seed: 2026,
        }
    }
}

/// Connects to the database and binds the configured port.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (secret, _client, database) = config.common.connect("solstice-portfolio").await?;
    let feed: Arc<dyn PriceFeed> = Arc::new(SimulatedMarket::new(config.market_seed));
    let state =
        PortfolioState { reader: LedgerReader::new(&database), stakes: database.collection(STAKE_ACCOUNTS), feed };
    let router = with_operations(api(state, secret), "portfolio", database, openapi::document());
    config.common.bind(config.addr, router).await
}

/// What every request of the portfolio service shares: nothing that can write.
#[derive(Clone)]
struct PortfolioState {
    reader: LedgerReader,
    /// The stake service's accounts, only ever read here.
    stakes: Collection<StakeDoc>,
    feed: Arc<dyn PriceFeed>,
}

fn api(state: PortfolioState, secret: ServiceSecret) -> Router {
    Router::new()
        .route("/v1/portfolio", get(portfolio))
        .layer(middleware::from_fn_with_state(secret, require_signature))
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
    let portfolio = value(caller.wallet, &balances, staked, state.feed.as_ref(), now_ms)?;
    Ok(Json(portfolio))
}

/// Values `balances` and the staked SOL at the feed's prices of `now_ms`.
fn value(
    wallet: WalletAddress,
    balances: &BTreeMap<Token, Amount>,
    (staked_amount, staked_rewards): (Amount, Amount),
    feed: &dyn PriceFeed,
    now_ms: i64,
) -> Result<Portfolio, PortfolioError> {
    let second = now_ms.div_euclid(1_000);
    let unavailable = || PortfolioError::PricesUnavailable;
    let mut holdings = Vec::new();
    let mut total = UsdValue::ZERO;
    // The same holdings at yesterday's prices, for the total's 24-hour change.
    let mut total_then = Some(UsdValue::ZERO);
    for (token, amount) in balances.iter().filter(|(_, amount)| !amount.is_zero()) {
        let price = feed.price_at(*token, second).map_err(|_| unavailable())?;
        let value = price.value_of(*amount, token.decimals());
        let then = feed.price_at(*token, second - DAY).ok();
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
        let price = feed.price_at(Token::Sol, second).map_err(|_| unavailable())?;
        staked.value = price.value_of(staked_amount, Token::Sol.decimals());
        total = total.checked_add(staked.value).ok_or_else(unavailable)?;
        let then = feed.price_at(Token::Sol, second - DAY).ok();
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
    Ok(Portfolio { wallet, holdings, staked, total_value: total, change_24h_bps, priced_at_ms: now_ms })
}

#[cfg(test)]
mod tests {
    use solstice_market::FeedError;
    use solstice_types::UsdPrice;

    use super::*;

    const NOTHING_STAKED: (Amount, Amount) = (Amount::ZERO, Amount::ZERO);

    #[test]
    fn staked_sol_counts_in_the_total_and_its_change() {
        let balances = BTreeMap::from([(Token::Usdc, Amount::parse("100", 6).unwrap())]);
        let staked = (Amount::parse("0.5", 9).unwrap(), Amount::parse("0.01", 9).unwrap());
        let portfolio =
            value(WalletAddress::from_public_key(&[1; 32]), &balances, staked, &Fixed, 1_000_000_000 * 1_000).unwrap();
        assert_eq!(portfolio.staked.value.format(), "$100.00");
        assert_eq!(portfolio.staked.rewards, Amount::parse("0.01", 9).unwrap());
        assert_eq!(portfolio.total_value.format(), "$200.00");
        assert_eq!(portfolio.staked.share_bps, 5_000);
        // Yesterday: $50 staked + $100; today $200: +33.33 %.
        assert_eq!(portfolio.change_24h_bps, Some(3_333));
    }

    /// A feed with fixed prices today and a day ago.
    struct Fixed;

    impl PriceFeed for Fixed {
        fn price_at(&self, token: Token, unix_second: i64) -> Result<UsdPrice, FeedError> {
            let today = unix_second >= 999_990_000;
            let dollars = match (token, today) {
                (Token::Sol, true) => 200.0,
                (Token::Sol, false) => 100.0,
                (Token::Usdc, _) => 1.0,
                _ => return Err(FeedError { token, unix_second }),
            };
            Ok(UsdPrice::from_picodollars((dollars * 1e12) as u64))
        }
    }

    #[test]
    fn holdings_are_valued_shared_and_sorted_by_value() {
        let balances = BTreeMap::from([
            (Token::Usdc, Amount::parse("100", 6).unwrap()),
            (Token::Sol, Amount::parse("1.5", 9).unwrap()),
            (Token::Jup, Amount::ZERO),
        ]);
        let portfolio =
            value(WalletAddress::from_public_key(&[1; 32]), &balances, NOTHING_STAKED, &Fixed, 1_000_000_000 * 1_000)
                .unwrap();
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
    fn an_empty_wallet_is_worth_nothing() {
        let portfolio =
            value(WalletAddress::from_public_key(&[1; 32]), &BTreeMap::new(), NOTHING_STAKED, &Fixed, 0).unwrap();
        assert!(portfolio.holdings.is_empty());
        assert_eq!(portfolio.total_value, UsdValue::ZERO);
        assert_eq!(portfolio.change_24h_bps, None);
    }

    #[test]
    fn a_token_without_a_price_makes_the_answer_unavailable_not_wrong() {
        let balances = BTreeMap::from([(Token::Jup, Amount::parse("1", 6).unwrap())]);
        let error = value(WalletAddress::from_public_key(&[1; 32]), &balances, NOTHING_STAKED, &Fixed, 0).unwrap_err();
        assert_eq!(error.to_api_error().code, ErrorCode::Unavailable);
    }
}
