//! The public REST API (`/api/v1`): a wallet's own scripts use it with a personal API key
//! (`Authorization: Bearer sol_...`), made on the app's API keys page.
//!
//! The same services answer as for the app, with the same error body and codes. A key acts
//! only for its wallet and only within its scopes; the session cookie is not accepted here
//! (this router has no session layer), and a key is not accepted by the server functions
//! (they read only the session). Requests that move money need an `Idempotency-Key` header:
//! the same key with the same request answers as the first time, with another request 409.
//!
//! The OpenAPI document is generated from the handlers and types below (`utoipa`), so it cannot
//! drift from them; Swagger UI at `/api/docs` reads it, and "Try it out" works with a key.

use std::{collections::HashMap, sync::LazyLock};

use app::backend::{HostState, api_keys::KeyHolder};
use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    routing::{get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use solstice_kit::{error::ErrorResponse, input};
use solstice_market::Interval;
use solstice_types::{
    Amount, ApiError, ErrorCode, Reference, Token, UsdPrice, WalletAddress,
    activity::{ActivityFilter, ActivityPage, ActivityRow},
    api_key::Scope,
    portfolio::{Portfolio, ValueHistory, ValueRange},
    stake::{StakeAccount, StakeOverview, StakeRequest, UnstakeRequest, WithdrawRequest},
    swap::{ExecuteSwap, Quote, QuoteRequest, Swap, SwapPage},
    transfer::{SendTransfer, Transfer, TransferPage},
};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::{
    IntoParams, Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use app::backend::services::SwapFilter;

/// Where the API's document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where Swagger UI shows it.
pub const DOCS_PATH: &str = "/api/docs";

/// The API's routes, its document and its Swagger UI.
pub fn router(state: HostState) -> Router {
    let api = Router::new()
        .route("/prices", get(prices))
        .route("/prices/{token}/candles", get(candles))
        .route("/balances", get(balances))
        .route("/portfolio", get(portfolio))
        .route("/portfolio/history", get(portfolio_history))
        .route("/quotes", post(quote))
        .route("/swaps", post(swap).get(swaps))
        .route("/swaps/{reference}", get(swap_by_reference))
        .route("/transfers", post(transfer).get(transfers))
        .route("/transfers/{reference}", get(transfer_by_reference))
        .route("/stakes", post(stake).get(stakes))
        .route("/stakes/{account}/unstake", post(unstake))
        .route("/stakes/{account}/withdraw", post(withdraw))
        .route("/activity", get(activity))
        .route("/activity/{reference}", get(activity_by_reference))
        .fallback(|| async {
            ErrorResponse(ApiError::new(ErrorCode::NotFound, "There is no such API endpoint: see /api/docs."))
        })
        .with_state(state)
        // Answers hold balances and histories: nothing keeps a copy.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let docs = SwaggerUi::new(DOCS_PATH).url(DOCUMENT_PATH, ApiDoc::openapi()).config(
        Config::default()
            .try_it_out_enabled(true)
            .persist_authorization(false)
            .display_request_duration(true)
            .validator_url("none")
            .use_base_layout(),
    );
    let docs = Router::from(docs).layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(solstice_kit::http::DOCS_POLICY),
    ));
    Router::new().nest("/api/v1", api).merge(docs)
}

/// The OpenAPI document of the public API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Solstice API",
        version = "1",
        description = "Your Solstice wallet over HTTP, for your own scripts: prices, balances, portfolio, swaps, transfers, staking and the activity timeline.\n\n\
**Authentication.** Make a personal API key on the app's *API keys* page and send it as `Authorization: Bearer sol_...`. A key acts only for your wallet and only within its scopes: `read` (everything you can see), `trade` (quotes and swaps), `transfer` (sending tokens) and `stake` (staking, unstaking, withdrawing). A missing, revoked or expired key gets 401; a key without the scope a request needs gets 403.\n\n\
**Money.** Amounts in answers are integers of the token's base units (10^decimals of them make one token: 9 decimals for SOL), prices and values integers of picodollars (10^-12 USD). Amounts in requests are decimal text in whole tokens, such as `\"1.5\"`.\n\n\
**Retries.** Every request that moves money needs an `Idempotency-Key` header (8 to 100 letters, digits, `-` or `_`), chosen by you per operation: sending the same request again with the same key answers as the first time and moves nothing more, so a request whose answer was lost is safe to retry. The same key with a different request gets 409.\n\n\
**Errors.** Every error has the body `{\"code\": \"...\", \"message\": \"...\"}`: `code` is stable, for your script; `message` is a sentence for a person. 429 means the key made too many requests this minute."
    ),
    paths(
        prices, candles, balances, portfolio, portfolio_history, quote, swap, swaps, swap_by_reference, transfer, transfers,
        transfer_by_reference, stakes, stake, unstake, withdraw, activity, activity_by_reference
    ),
    modifiers(&Common),
    tags(
        (name = "Market", description = "Live prices and candles."),
        (name = "Wallet", description = "Balances, the portfolio and its value over time."),
        (name = "Swaps", description = "Quotes and swaps on Solstice's exchange at live prices."),
        (name = "Transfers", description = "Sending tokens to other Solstice wallets."),
        (name = "Staking", description = "Staking SOL with a validator, earning rewards each epoch, unstaking and withdrawing."),
        (name = "Activity", description = "Everything that happened to the wallet, newest first."),
    )
)]
pub struct ApiDoc;

/// What every operation shares: the API key scheme ("Authorize" in Swagger UI asks for a key;
/// each operation names the scope it needs in its security requirement), and the answers any
/// of them can give: 401, 403, 429 and the 503 of a service briefly unavailable.
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, ResponseBuilder};
        let shared: Vec<(&str, utoipa::openapi::Response)> = [
            ("401", "No valid API key: missing, unknown, revoked or expired."),
            ("403", "The API key lacks the scope this operation needs (its security requirement)."),
            ("429", "Too many requests with this key this minute."),
            (
                "503",
                "Briefly unavailable (a service, or fresh prices for swaps): retry, with the same Idempotency-Key.",
            ),
        ]
        .into_iter()
        .map(|(status, description)| {
            let body = Content::new(Some(Ref::from_schema_name("ApiError")));
            (status, ResponseBuilder::new().description(description).content("application/json", body).build())
        })
        .collect();
        // What `solstice_kit::input::idempotency_key` accepts.
        let idempotency_key = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(8))
            .max_length(Some(100))
            .pattern(Some("^[A-Za-z0-9_-]+$"))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (status, response) in &shared {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| response.clone().into());
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let utoipa::openapi::RefOr::T(parameter) = parameter
                        && parameter.name == "Idempotency-Key"
                    {
                        parameter.schema = Some(idempotency_key.clone().into());
                    }
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sol_<id>_<secret>")
                    .description(Some("A personal API key from the app's API keys page."))
                    .build(),
            ),
        );
    }
}

/// An answer, or an error with the shared body and its code's status (a fault of ours logged
/// and answered generically, by the kit's one conversion).
type Answer<T> = Result<Json<T>, ErrorResponse>;

/// The key a request came with: authenticated, counted against its limit, and holding the scope
/// that the document names for the operation (its security requirement), so that what is
/// documented is what is enforced.
struct Key(KeyHolder);

impl FromRequestParts<HostState> for Key {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &HostState) -> Result<Key, ErrorResponse> {
        let authorization = parts.headers.get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
        let holder = state.api_keys.authenticate(authorization).await?;
        let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or_default();
        let method = parts.method.as_str().to_ascii_lowercase();
        let Some(scope) = SCOPES.get(&(method, route.to_owned())) else {
            tracing::error!(route, "an API route without a documented scope");
            return Err(ErrorResponse(ApiError::internal()));
        };
        holder.require(*scope)?;
        Ok(Key(holder))
    }
}

impl Key {
    /// The wallet the key acts for.
    fn wallet(&self) -> &WalletAddress {
        &self.0.wallet
    }
}

/// The scope each operation needs, by method and route, read once from the document.
static SCOPES: LazyLock<HashMap<(String, String), Scope>> = LazyLock::new(|| {
    let document = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let mut scopes = HashMap::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let named = operation["security"][0]["api_key"][0].as_str().and_then(Scope::parse);
            if let Some(scope) = named {
                scopes.insert((method.clone(), path.clone()), scope);
            }
        }
    }
    scopes
});

/// A JSON body; one that cannot be read is a 400 with the shared error body.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ErrorResponse;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ErrorResponse> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ErrorResponse(ApiError::new(
                ErrorCode::InvalidInput,
                format!("The request body is not valid JSON for this request: {}", rejection.body_text()),
            ))),
        }
    }
}

/// A query string; one that cannot be read is a 400 with the shared error body.
struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params<T>, ErrorResponse> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(ErrorResponse(ApiError::new(
                ErrorCode::InvalidInput,
                format!("The query is not valid: {}", rejection.body_text()),
            ))),
        }
    }
}

/// The `Idempotency-Key` header a money-moving request must carry.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ErrorResponse> {
    let value = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidInput,
            "Send an Idempotency-Key header: a value of your choosing for this operation, the same when you retry it.",
        )
    })?;
    let text = value.to_str().map_err(|_| {
        ApiError::new(ErrorCode::InvalidInput, "The idempotency key must be 8 to 100 letters, digits, '-' or '_'.")
    })?;
    Ok(input::idempotency_key(text)?.to_owned())
}

fn reference(text: &str) -> Result<Reference, ErrorResponse> {
    Ok(input::reference(text)?)
}

/// A query parameter as given: absent is `None`, but given empty is a mistake (a script that
/// sends `?range=` meant something), answered with a 400 naming it.
fn given(name: &str, value: Option<String>) -> Result<Option<String>, ErrorResponse> {
    match value {
        Some(text) if text.trim().is_empty() => Err(ErrorResponse(ApiError::new(
            ErrorCode::InvalidInput,
            format!("The {name} parameter is empty: leave it out, or give it a value."),
        ))),
        other => Ok(other.map(|text| text.trim().to_owned())),
    }
}

// ---------------------------------------------------------------------------------------------
// Market

/// Every token's latest price.
#[derive(Debug, Serialize, ToSchema)]
struct Prices {
    /// When the prices were taken, in Unix milliseconds (0 before the first prices arrive).
    at_ms: i64,
    /// The prices are older than the platform's freshness bound: swaps are paused until fresh
    /// ones arrive.
    stale: bool,
    /// `live` (public exchanges) or `simulated` (an offline deployment); absent before the
    /// first prices.
    market: Option<String>,
    /// Where the prices come from.
    sources: Vec<String>,
    prices: Vec<TokenPriceEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
struct TokenPriceEntry {
    token: Token,
    price: UsdPrice,
    /// Change over the last 24 hours, in basis points, when known.
    change_24h_bps: Option<i64>,
    /// The sources disagree about this price: swaps in the token are paused.
    suspect: bool,
}

/// Latest prices
///
/// Every listed token's latest price in US dollars, its change over 24 hours and where it
/// comes from.
#[utoipa::path(get, path = "/api/v1/prices", tag = "Market", security(("api_key" = ["read"])),
    responses(
        (status = 200, description = "The latest prices.", body = Prices),
    ))]
async fn prices(State(state): State<HostState>, _key: Key) -> Answer<Prices> {
    let tick = state.prices.snapshot();
    let stale = tick.at_ms == 0 || tick.age_when_sent_ms() > tick.fresh_ms;
    Ok(Json(Prices {
        at_ms: tick.at_ms,
        stale,
        market: tick.market.map(|market| market.as_str().to_owned()),
        sources: tick.sources,
        prices: tick
            .prices
            .into_iter()
            .map(|price| TokenPriceEntry {
                token: price.token,
                price: price.price,
                change_24h_bps: price.change_24h_bps,
                suspect: price.suspect,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CandleQuery {
    /// The candles' interval: `1m`, `5m` or `1h` (`5m` when absent).
    #[param(pattern = "^(1m|5m|1h)$")]
    interval: Option<String>,
}

/// A candle: the first, highest, lowest and last price of an interval.
#[derive(Debug, Serialize, ToSchema)]
struct CandleEntry {
    /// When the interval begins, in Unix milliseconds.
    start_ms: i64,
    open: UsdPrice,
    high: UsdPrice,
    low: UsdPrice,
    close: UsdPrice,
}

/// Price candles
///
/// A token's candles of the last intervals, oldest first, the one in progress last.
#[utoipa::path(get, path = "/api/v1/prices/{token}/candles", tag = "Market", security(("api_key" = ["read"])),
    params(("token" = Token, Path, description = "The token's symbol, such as SOL."), CandleQuery),
    responses(
        (status = 200, description = "The candles, oldest first.", body = Vec<CandleEntry>),
        (status = 400, description = "An unknown token or interval.", body = ApiError),
    ))]
async fn candles(
    State(state): State<HostState>,
    _key: Key,
    Path(token): Path<String>,
    Params(query): Params<CandleQuery>,
) -> Answer<Vec<CandleEntry>> {
    let token = input::token(&token)?;
    let interval = match given("interval", query.interval)?.as_deref() {
        None | Some("5m") => Interval::FiveMinutes,
        Some("1m") => Interval::OneMinute,
        Some("1h") => Interval::OneHour,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::InvalidInput, "The interval must be one of: 1m, 5m, 1h.").into());
        }
    };
    let candles = state.prices.history(token, interval).await?;
    Ok(Json(
        candles
            .into_iter()
            .map(|candle| CandleEntry {
                start_ms: candle.start.saturating_mul(1_000),
                open: candle.open,
                high: candle.high,
                low: candle.low,
                close: candle.close,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Wallet

/// The wallet's spendable balance of every listed token (staked SOL is in the portfolio).
#[derive(Debug, Serialize, ToSchema)]
struct Balances {
    wallet: WalletAddress,
    balances: Vec<Balance>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Balance {
    token: Token,
    /// In the token's base units.
    amount: Amount,
    /// How many decimals the token has: `amount / 10^decimals` whole tokens.
    decimals: u8,
}

/// Balances
///
/// The wallet's spendable balance of every listed token, zero included.
#[utoipa::path(get, path = "/api/v1/balances", tag = "Wallet", security(("api_key" = ["read"])),
    responses(
        (status = 200, description = "Every token's balance.", body = Balances),
    ))]
async fn balances(State(state): State<HostState>, key: Key) -> Answer<Balances> {
    let wallet = key.wallet();
    let portfolio = state.services.portfolio.portfolio(wallet).await?;
    let balances = Token::ALL
        .into_iter()
        .map(|token| Balance {
            token,
            amount: portfolio.holdings.iter().find(|h| h.token == token).map_or(Amount::ZERO, |h| h.amount),
            decimals: token.decimals(),
        })
        .collect();
    Ok(Json(Balances { wallet: wallet.clone(), balances }))
}

/// Portfolio
///
/// Every holding valued at live prices, staked SOL, the total and its change over 24 hours.
#[utoipa::path(get, path = "/api/v1/portfolio", tag = "Wallet", security(("api_key" = ["read"])),
    responses(
        (status = 200, description = "The portfolio.", body = Portfolio),
    ))]
async fn portfolio(State(state): State<HostState>, key: Key) -> Answer<Portfolio> {
    let wallet = key.wallet();
    Ok(Json(state.services.portfolio.portfolio(wallet).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// `24h`, `7d`, `30d` or `all` (`24h` when absent).
    #[param(pattern = "^(24h|7d|30d|all)$")]
    range: Option<String>,
}

/// Value over time
///
/// The wallet's value (staked SOL included) at steps over the range, its change, and what each
/// holding cost on average with its unrealised profit or loss.
#[utoipa::path(get, path = "/api/v1/portfolio/history", tag = "Wallet", security(("api_key" = ["read"])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "The value history.", body = ValueHistory),
        (status = 400, description = "An unknown range.", body = ApiError),
    ))]
async fn portfolio_history(
    State(state): State<HostState>,
    key: Key,
    Params(query): Params<HistoryQuery>,
) -> Answer<ValueHistory> {
    let wallet = key.wallet();
    let range = match given("range", query.range)?.as_deref() {
        None => ValueRange::Day,
        Some(text) => ValueRange::parse(text)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "The range must be one of: 24h, 7d, 30d, all."))?,
    };
    Ok(Json(state.services.portfolio.history(wallet, range).await?))
}

// ---------------------------------------------------------------------------------------------
// Swaps

/// Quote a swap
///
/// A firm quote at the latest prices: what you pay, what you receive after the fee, and the
/// bounds of the slippage tolerance. Execute it with `POST /api/v1/swaps` before it expires.
#[utoipa::path(post, path = "/api/v1/quotes", tag = "Swaps", security(("api_key" = ["trade"])),
    request_body = QuoteRequest,
    responses(
        (status = 200, description = "The quote.", body = Quote),
        (status = 400, description = "An invalid token, amount, side or slippage.", body = ApiError),
        (status = 422, description = "The quote cannot be made (such as too little balance).", body = ApiError),
    ))]
async fn quote(State(state): State<HostState>, key: Key, Body(request): Body<QuoteRequest>) -> Answer<Quote> {
    let wallet = key.wallet();
    Ok(Json(state.services.swap.quote(wallet, &request).await?))
}

/// What to execute: a quote's id.
#[derive(Debug, Deserialize, ToSchema)]
struct SwapBody {
    /// The `id` of a quote from `POST /api/v1/quotes`.
    quote_id: String,
}

/// Execute a swap
///
/// Fills a quote at the live price, within its bounds: both sides move in one transaction.
#[utoipa::path(post, path = "/api/v1/swaps", tag = "Swaps", security(("api_key" = ["trade"])),
    params(("Idempotency-Key" = String, Header, description = "Your key for this swap: a retry with the same key answers with the same swap.")),
    request_body = SwapBody,
    responses(
        (status = 200, description = "The swap, filled.", body = Swap),
        (status = 400, description = "A missing or malformed field or Idempotency-Key.", body = ApiError),
        (status = 404, description = "No such quote of this wallet.", body = ApiError),
        (status = 409, description = "The quote expired, the price moved past its bound, or the Idempotency-Key was used for a different request.", body = ApiError),
        (status = 422, description = "The swap cannot be filled (too little balance, or not enough of the token on the exchange).", body = ApiError),
    ))]
async fn swap(
    State(state): State<HostState>,
    key: Key,
    headers: HeaderMap,
    Body(body): Body<SwapBody>,
) -> Answer<Swap> {
    let wallet = key.wallet();
    let request = ExecuteSwap { quote_id: body.quote_id, idempotency_key: idempotency_key(&headers)? };
    Ok(Json(state.services.swap.execute(wallet, &request).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SwapsQuery {
    /// Only swaps from or to this token (its symbol).
    #[param(value_type = Option<Token>)]
    token: Option<String>,
    /// The previous page's `next_before`.
    before: Option<String>,
}

/// Swap history
///
/// The wallet's swaps, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/swaps", tag = "Swaps", security(("api_key" = ["read"])),
    params(SwapsQuery),
    responses(
        (status = 200, description = "A page of swaps.", body = SwapPage),
        (status = 400, description = "An unknown token or a malformed cursor.", body = ApiError),
    ))]
async fn swaps(State(state): State<HostState>, key: Key, Params(query): Params<SwapsQuery>) -> Answer<SwapPage> {
    let wallet = key.wallet();
    let filter = SwapFilter {
        token: given("token", query.token)?,
        before: given("before", query.before)?,
        ..SwapFilter::default()
    };
    Ok(Json(state.services.swap.history(wallet, filter).await?))
}

/// A swap
///
/// One of the wallet's swaps by its reference number.
#[utoipa::path(get, path = "/api/v1/swaps/{reference}", tag = "Swaps", security(("api_key" = ["read"])),
    params(("reference" = Reference, Path, description = "The swap's reference number.")),
    responses(
        (status = 200, description = "The swap.", body = Swap),
        (status = 400, description = "Not a reference number.", body = ApiError),
        (status = 404, description = "No swap of this wallet has this reference.", body = ApiError),
    ))]
async fn swap_by_reference(State(state): State<HostState>, key: Key, Path(text): Path<String>) -> Answer<Swap> {
    let wallet = key.wallet();
    Ok(Json(state.services.swap.swap(wallet, &reference(&text)?).await?))
}

// ---------------------------------------------------------------------------------------------
// Transfers

/// What to send, and to whom.
#[derive(Debug, Deserialize, ToSchema)]
struct TransferBody {
    /// The recipient's wallet address: another Solstice wallet.
    to: String,
    /// The token's symbol, such as `SOL`.
    token: String,
    /// Decimal amount in whole tokens, such as `"1.25"`.
    amount: String,
    /// A note both sides see, up to 140 characters.
    #[serde(default)]
    memo: Option<String>,
}

/// Send tokens
///
/// Sends tokens to another Solstice wallet, at once and without a fee.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "Transfers", security(("api_key" = ["transfer"])),
    params(("Idempotency-Key" = String, Header, description = "Your key for this transfer: a retry with the same key answers with the same transfer.")),
    request_body = TransferBody,
    responses(
        (status = 200, description = "The transfer, done.", body = Transfer),
        (status = 400, description = "A malformed address, token, amount, memo or Idempotency-Key.", body = ApiError),
        (status = 409, description = "The Idempotency-Key was used for a different request.", body = ApiError),
        (status = 422, description = "The transfer cannot be made (too little balance, or no Solstice wallet has this address).", body = ApiError),
    ))]
async fn transfer(
    State(state): State<HostState>,
    key: Key,
    headers: HeaderMap,
    Body(body): Body<TransferBody>,
) -> Answer<Transfer> {
    let wallet = key.wallet();
    let request = SendTransfer {
        to: body.to,
        token: body.token,
        amount: body.amount,
        memo: body.memo,
        idempotency_key: idempotency_key(&headers)?,
    };
    Ok(Json(state.services.transfer.send(wallet, &request).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// The previous page's `next_before`.
    before: Option<String>,
}

/// Transfer history
///
/// Transfers the wallet sent or received, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "Transfers", security(("api_key" = ["read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of transfers.", body = TransferPage),
        (status = 400, description = "A malformed cursor.", body = ApiError),
    ))]
async fn transfers(State(state): State<HostState>, key: Key, Params(query): Params<PageQuery>) -> Answer<TransferPage> {
    let wallet = key.wallet();
    Ok(Json(state.services.transfer.history(wallet, given("before", query.before)?).await?))
}

/// A transfer
///
/// One of the wallet's transfers, sent or received, by its reference number.
#[utoipa::path(get, path = "/api/v1/transfers/{reference}", tag = "Transfers", security(("api_key" = ["read"])),
    params(("reference" = Reference, Path, description = "The transfer's reference number.")),
    responses(
        (status = 200, description = "The transfer.", body = Transfer),
        (status = 400, description = "Not a reference number.", body = ApiError),
        (status = 404, description = "No transfer of this wallet has this reference.", body = ApiError),
    ))]
async fn transfer_by_reference(State(state): State<HostState>, key: Key, Path(text): Path<String>) -> Answer<Transfer> {
    let wallet = key.wallet();
    Ok(Json(state.services.transfer.transfer(wallet, &reference(&text)?).await?))
}

// ---------------------------------------------------------------------------------------------
// Staking

/// Stake accounts
///
/// The current epoch, the validators and the wallet's stake accounts, newest first.
#[utoipa::path(get, path = "/api/v1/stakes", tag = "Staking", security(("api_key" = ["read"])),
    responses(
        (status = 200, description = "The epoch, validators and stake accounts.", body = StakeOverview),
    ))]
async fn stakes(State(state): State<HostState>, key: Key) -> Answer<StakeOverview> {
    let wallet = key.wallet();
    Ok(Json(state.services.stake.overview(wallet).await?))
}

/// What to stake, and with whom.
#[derive(Debug, Deserialize, ToSchema)]
struct StakeBody {
    /// A validator's address, from `GET /api/v1/stakes`.
    validator: String,
    /// Decimal SOL, such as `"2.5"`.
    amount: String,
}

/// Stake SOL
///
/// Moves SOL into a new stake account with a validator. It starts earning at the next epoch.
#[utoipa::path(post, path = "/api/v1/stakes", tag = "Staking", security(("api_key" = ["stake"])),
    params(("Idempotency-Key" = String, Header, description = "Your key for this stake: a retry with the same key answers with the same stake account.")),
    request_body = StakeBody,
    responses(
        (status = 200, description = "The new stake account.", body = StakeAccount),
        (status = 400, description = "A malformed validator, amount or Idempotency-Key.", body = ApiError),
        (status = 404, description = "No such validator.", body = ApiError),
        (status = 409, description = "The Idempotency-Key was used for a different request.", body = ApiError),
        (status = 422, description = "The stake cannot be made (such as too little SOL, or below the minimum).", body = ApiError),
    ))]
async fn stake(
    State(state): State<HostState>,
    key: Key,
    headers: HeaderMap,
    Body(body): Body<StakeBody>,
) -> Answer<StakeAccount> {
    let wallet = key.wallet();
    let request =
        StakeRequest { validator: body.validator, amount: body.amount, idempotency_key: idempotency_key(&headers)? };
    Ok(Json(state.services.stake.stake(wallet, &request).await?))
}

/// Unstake
///
/// Sets a stake account to stop earning when the current epoch ends; withdraw it after that.
#[utoipa::path(post, path = "/api/v1/stakes/{account}/unstake", tag = "Staking", security(("api_key" = ["stake"])),
    params(
        ("account" = String, Path, description = "The stake account's address."),
        ("Idempotency-Key" = String, Header, description = "Your key for this unstake: a retry with the same key answers with the same result."),
    ),
    responses(
        (status = 200, description = "The stake account, deactivating.", body = StakeAccount),
        (status = 400, description = "A malformed Idempotency-Key.", body = ApiError),
        (status = 404, description = "The wallet has no stake account with this address.", body = ApiError),
        (status = 409, description = "The Idempotency-Key was used for a different request.", body = ApiError),
        (status = 422, description = "The account cannot be unstaked (already unstaked or withdrawn).", body = ApiError),
    ))]
async fn unstake(
    State(state): State<HostState>,
    key: Key,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Answer<StakeAccount> {
    let wallet = key.wallet();
    let request = UnstakeRequest { idempotency_key: Some(idempotency_key(&headers)?) };
    let account = input::stake_account(&account)?;
    Ok(Json(state.services.stake.unstake(wallet, &account, &request).await?))
}

/// Withdraw stake
///
/// Moves an inactive stake account's SOL, rewards included, back to the wallet.
#[utoipa::path(post, path = "/api/v1/stakes/{account}/withdraw", tag = "Staking", security(("api_key" = ["stake"])),
    params(
        ("account" = String, Path, description = "The stake account's address."),
        ("Idempotency-Key" = String, Header, description = "Your key for this withdrawal: a retry with the same key answers with the same result."),
    ),
    responses(
        (status = 200, description = "The stake account, withdrawn.", body = StakeAccount),
        (status = 400, description = "A malformed Idempotency-Key.", body = ApiError),
        (status = 404, description = "The wallet has no stake account with this address.", body = ApiError),
        (status = 409, description = "The Idempotency-Key was used for a different request.", body = ApiError),
        (status = 422, description = "The account cannot be withdrawn yet (still active or deactivating).", body = ApiError),
    ))]
async fn withdraw(
    State(state): State<HostState>,
    key: Key,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Answer<StakeAccount> {
    let wallet = key.wallet();
    let request = WithdrawRequest { idempotency_key: idempotency_key(&headers)? };
    let account = input::stake_account(&account)?;
    Ok(Json(state.services.stake.withdraw(wallet, &account, &request).await?))
}

// ---------------------------------------------------------------------------------------------
// Activity

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ActivityQuery {
    /// Only rows of this kind.
    #[param(value_type = Option<solstice_types::activity::ActivityKind>)]
    kind: Option<String>,
    /// Only rows that move this token (its symbol).
    #[param(value_type = Option<Token>)]
    token: Option<String>,
    /// Only rows on or after this UTC day, `YYYY-MM-DD`.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    from: Option<String>,
    /// Only rows on or before this UTC day, `YYYY-MM-DD`.
    #[param(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    to: Option<String>,
    /// The previous page's `next_before`.
    before: Option<String>,
    /// Rows per page, 1 to 1000 (50 when absent).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Activity
///
/// Everything that happened to the wallet, newest first: the airdrop, transfers, swaps,
/// stakes, unstakes, withdrawals and rewards, with the value in US dollars at the time.
#[utoipa::path(get, path = "/api/v1/activity", tag = "Activity", security(("api_key" = ["read"])),
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of activity.", body = ActivityPage),
        (status = 400, description = "An unknown kind or token, a malformed date, cursor or limit.", body = ApiError),
    ))]
async fn activity(
    State(state): State<HostState>,
    key: Key,
    Params(query): Params<ActivityQuery>,
) -> Answer<ActivityPage> {
    let wallet = key.wallet();
    let filter: ActivityFilter = app::backend::activity::filter(
        given("kind", query.kind)?,
        given("token", query.token)?,
        given("from", query.from)?,
        given("to", query.to)?,
    )?;
    let before = given("before", query.before)?.as_deref().map(reference).transpose()?;
    // The portfolio service checks the limit (1 to 1,000), with its own message.
    Ok(Json(state.services.portfolio.activity(wallet, &filter, before.as_ref(), query.limit).await?))
}

/// An activity row
///
/// One row of the wallet's activity by its reference number, of any kind.
#[utoipa::path(get, path = "/api/v1/activity/{reference}", tag = "Activity", security(("api_key" = ["read"])),
    params(("reference" = Reference, Path, description = "Any reference number of the wallet's activity.")),
    responses(
        (status = 200, description = "The row.", body = ActivityRow),
        (status = 400, description = "Not a reference number.", body = ApiError),
        (status = 404, description = "Nothing of this wallet has this reference.", body = ApiError),
    ))]
async fn activity_by_reference(
    State(state): State<HostState>,
    key: Key,
    Path(text): Path<String>,
) -> Answer<ActivityRow> {
    let wallet = key.wallet();
    Ok(Json(state.services.portfolio.activity_row(wallet, &reference(&text)?).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_operation_needs_a_key_and_can_be_refused() {
        let document = ApiDoc::openapi();
        assert_eq!(serde_json::to_value(&document).unwrap()["openapi"], "3.1.0");
        for (path, item) in &document.paths.paths {
            for (method, operation) in [("get", &item.get), ("post", &item.post)] {
                let Some(operation) = operation else { continue };
                let responses = &operation.responses.responses;
                for status in ["200", "401", "403", "429", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} documents no {status}");
                }
                let required = serde_json::to_value(&operation.security).unwrap();
                let scope = required[0]["api_key"][0].as_str().unwrap_or_default();
                assert!(Scope::parse(scope).is_some(), "{method} {path} names no scope: {required}");
                assert_eq!(SCOPES.get(&(method.to_owned(), path.clone())).map(|s| s.as_str()), Some(scope));
                if method == "post" && path != "/api/v1/quotes" {
                    let parameters = operation.parameters.as_deref().unwrap_or_default();
                    assert!(
                        parameters.iter().any(
                            |parameter| matches!(parameter, utoipa::openapi::RefOr::T(p) if p.name == "Idempotency-Key")
                        ),
                        "{method} {path} moves money without an Idempotency-Key"
                    );
                }
            }
        }
    }
}
