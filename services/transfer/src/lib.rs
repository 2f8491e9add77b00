//! The transfer service: a wallet sends tokens to another Solstice wallet.
//!
//! Each transfer is one ledger transaction (sender to recipient), keyed by the sender's
//! idempotency key, with the memo stored as the record's details. History and look-up by
//! reference read the ledger's records, and only ever those the calling wallet took part in.

mod openapi;

use std::net::SocketAddr;

use axum::{
    Extension, Router,
    extract::{Path, State},
    http::StatusCode,
    middleware,
    routing::get,
};
use clap::Parser;
use mongodb::{
    Collection,
    bson::{Document, doc},
};
use solstice_ledger::{AccountId, HistoryQuery, IdempotencyKey, Ledger, LedgerError, Leg, Receipt, TransactionRequest};
use solstice_service::{
    auth::{Caller, ServiceSecret, require_signature},
    error::{self, ErrorResponse, internal},
    extract::{Json, Query},
    http::with_operations,
    input,
    start::{CommonConfig, Service, StartError},
};
use solstice_types::{
    ApiError, ErrorCode, ReferenceKind, WalletAddress,
    transfer::{Direction, MAX_MEMO_CHARS, Recipient, SendTransfer, Transfer, TransferPage},
};

/// The host's collection of user accounts, keyed by wallet address. This service only checks
/// that a recipient exists in it.
const USERS: &str = "users";

/// Solstice transfer service.
#[derive(Clone, Parser)]
#[command(name = "solstice-transfer", version)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "TRANSFER_ADDR", default_value = "127.0.0.1:3102")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub common: CommonConfig,
}

impl Config {
    /// A service on a free port over `database`, with the secret the tests share with the host.
    pub fn for_tests(mongodb_uri: String, database: String) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            common: CommonConfig::for_tests(mongodb_uri, database),
        }
    }
}

/// Connects to the database, prepares the ledger and binds the configured port.
pub async fn build(config: Config) -> Result<Service, StartError> {
    let (secret, client, database) = config.common.connect("solstice-transfer").await?;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.map_err(|e| StartError(format!("preparing the ledger: {e}")))?;
    let state = AppState { ledger, users: database.collection(USERS) };
    let router = with_operations(api(state, secret), "transfer", database, openapi::document());
    config.common.bind(config.addr, router).await
}

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    users: Collection<Document>,
}

fn api(state: AppState, secret: ServiceSecret) -> Router {
    Router::new()
        .route("/v1/transfers", get(history).post(send))
        .route("/v1/transfers/{reference}", get(by_reference))
        .route("/v1/recipients/{address}", get(recipient))
        .layer(middleware::from_fn_with_state(secret, require_signature))
        .with_state(state)
}

/// A transfer request whose fields all parsed.
struct Checked {
    to: WalletAddress,
    leg: Leg,
    memo: Option<String>,
    key: IdempotencyKey,
}

fn check(sender: &WalletAddress, request: &SendTransfer) -> Result<Checked, ApiError> {
    let to = WalletAddress::parse(request.to.trim())
        .map_err(|error| ApiError::new(ErrorCode::InvalidAddress, error.to_string()))?;
    if &to == sender {
        return Err(ApiError::new(ErrorCode::InvalidInput, "You cannot send to your own wallet."));
    }
    let token = input::token(&request.token)?;
    let amount = input::positive_amount(&request.amount, token)?;
    let memo = check_memo(request.memo.as_deref())?;
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    // Scoped by the sender, so that two users' keys can never meet.
    let key = IdempotencyKey::new(format!("trf:{sender}:{client_key}")).map_err(|_| ApiError::internal())?;
    let leg = Leg { from: AccountId::wallet(sender), to: AccountId::wallet(&to), token, amount };
    Ok(Checked { to, leg, memo, key })
}

/// An optional note of at most [`MAX_MEMO_CHARS`] characters, without control characters.
fn check_memo(memo: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(memo) = memo.map(str::trim).filter(|memo| !memo.is_empty()) else { return Ok(None) };
    if memo.chars().count() > MAX_MEMO_CHARS {
        return Err(ApiError::new(ErrorCode::InvalidInput, format!("Keep the memo to {MAX_MEMO_CHARS} characters.")));
    }
    if memo.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "The memo cannot contain line breaks or control characters.",
        ));
    }
    Ok(Some(memo.to_owned()))
}

/// `POST /v1/transfers`: sends tokens from the calling wallet.
async fn send(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<SendTransfer>,
) -> Result<(StatusCode, axum::Json<Transfer>), ErrorResponse> {
    let checked = check(&caller.wallet, &request)?;
    if !is_user(&state.users, &checked.to).await? {
        return Err(ApiError::new(
            ErrorCode::UnknownRecipient,
            "No Solstice wallet has this address. Check it with the recipient.",
        )
        .into());
    }
    let mut details = doc! {};
    if let Some(memo) = &checked.memo {
        details.insert("memo", memo);
    }
    let token = checked.leg.token;
    let request =
        TransactionRequest::new(ReferenceKind::Transfer, checked.key, vec![checked.leg]).with_details(details);
    let receipt = state.ledger.apply(request).await.map_err(|error| match error {
        LedgerError::InsufficientFunds { .. } => ErrorResponse(ApiError::new(
            ErrorCode::InsufficientFunds,
            format!("Your {token} balance is too low for this transfer."),
        )),
        other => error::ledger("sending a transfer", other),
    })?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(transfer_view(&caller.wallet, receipt)?)))
}

#[derive(serde::Deserialize)]
struct HistoryParams {
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/transfers`: the calling wallet's transfers, sent and received, newest first.
async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<TransferPage>, ErrorResponse> {
    let before = params.before.as_deref().map(input::reference).transpose()?;
    let limit = input::page_limit(params.limit)?;
    let query = HistoryQuery { kind: ReferenceKind::Transfer, token: None, since: None, until: None, before, limit };
    let page = state
        .ledger
        .reader()
        .history(&AccountId::wallet(&caller.wallet), &query)
        .await
        .map_err(|error| error::ledger("reading transfers", error))?;
    let next_before = page.next_before;
    let transfers =
        page.records.into_iter().map(|record| transfer_view(&caller.wallet, record)).collect::<Result<_, _>>()?;
    Ok(axum::Json(TransferPage { transfers, next_before }))
}

/// `GET /v1/transfers/{reference}`: one of the calling wallet's transfers.
async fn by_reference(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<axum::Json<Transfer>, ErrorResponse> {
    let reference = input::reference(&reference)?;
    let not_found = || ErrorResponse(ApiError::new(ErrorCode::NotFound, format!("You have no transfer {reference}.")));
    if reference.kind() != ReferenceKind::Transfer {
        return Err(not_found());
    }
    let record = state
        .ledger
        .reader()
        .record_of(&AccountId::wallet(&caller.wallet), &reference)
        .await
        .map_err(|error| error::ledger("reading a transfer", error))?
        .ok_or_else(not_found)?;
    Ok(axum::Json(transfer_view(&caller.wallet, record)?))
}

/// `GET /v1/recipients/{address}`: whether an address can receive transfers.
async fn recipient(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<axum::Json<Recipient>, ErrorResponse> {
    let address =
        WalletAddress::parse(address.trim()).map_err(|e| ApiError::new(ErrorCode::InvalidAddress, e.to_string()))?;
    if !is_user(&state.users, &address).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "No Solstice wallet has this address.").into());
    }
    Ok(axum::Json(Recipient { address }))
}

async fn is_user(users: &Collection<Document>, address: &WalletAddress) -> Result<bool, ErrorResponse> {
    let found = users
        .find_one(doc! { "_id": address.as_str() })
        .projection(doc! { "_id": 1 })
        .await
        .map_err(|error| internal("looking up a recipient", &error))?;
    Ok(found.is_some())
}

/// A ledger record of a transfer, as `viewer` (its sender or recipient) sees it.
fn transfer_view(viewer: &WalletAddress, record: Receipt) -> Result<Transfer, ErrorResponse> {
    let corrupt = || internal("reading a transfer record", &LedgerError::Corrupt(record.reference.to_string()));
    let [leg] = record.legs.as_slice() else { return Err(corrupt()) };
    let (AccountId::Wallet(from), AccountId::Wallet(to)) = (&leg.from, &leg.to) else { return Err(corrupt()) };
    let memo = record.details.as_ref().and_then(|details| details.get_str("memo").ok()).map(str::to_owned);
    Ok(Transfer {
        reference: record.reference.clone(),
        direction: if from == viewer { Direction::Sent } else { Direction::Received },
        from: from.clone(),
        to: to.clone(),
        token: leg.token,
        amount: leg.amount,
        memo,
        created_at_ms: record.created_at.timestamp_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet(n: u8) -> WalletAddress {
        WalletAddress::from_public_key(&[n; 32])
    }

    fn request(to: &WalletAddress, token: &str, amount: &str) -> SendTransfer {
        SendTransfer {
            to: to.to_string(),
            token: token.to_owned(),
            amount: amount.to_owned(),
            memo: None,
            idempotency_key: "key-0000-0001".to_owned(),
        }
    }

    #[test]
    fn every_bad_field_gets_its_own_error() {
        let (me, you) = (wallet(1), wallet(2));
        let code = |request: SendTransfer| check(&me, &request).err().map(|error| error.code);
        assert_eq!(
            code(SendTransfer { to: "not-an-address".into(), ..request(&you, "SOL", "1") }),
            Some(ErrorCode::InvalidAddress)
        );
        assert_eq!(code(request(&me, "SOL", "1")), Some(ErrorCode::InvalidInput));
        assert_eq!(code(request(&you, "DOGE", "1")), Some(ErrorCode::UnknownToken));
        assert_eq!(code(request(&you, "SOL", "0")), Some(ErrorCode::InvalidAmount));
        assert_eq!(code(request(&you, "USDC", "1.0000001")), Some(ErrorCode::InvalidAmount));
        assert_eq!(
            code(SendTransfer { idempotency_key: "x".into(), ..request(&you, "SOL", "1") }),
            Some(ErrorCode::InvalidInput)
        );
        assert_eq!(code(request(&you, "sol", "1.5")), None);
    }

    #[test]
    fn memos_are_trimmed_bounded_and_single_line() {
        assert_eq!(check_memo(Some("  rent  ")).unwrap(), Some("rent".to_owned()));
        assert_eq!(check_memo(Some("   ")).unwrap(), None);
        assert!(check_memo(Some(&"é".repeat(MAX_MEMO_CHARS))).is_ok());
        assert!(check_memo(Some(&"é".repeat(MAX_MEMO_CHARS + 1))).is_err());
        assert!(check_memo(Some("two\nlines")).is_err());
    }
}
