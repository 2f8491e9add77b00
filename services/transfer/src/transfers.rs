//! Sending tokens, the transfer history and one transfer by reference number.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
};
use mongodb::bson::doc;
use solstice_kit::{
    auth::Caller,
    extract::{Json, Query},
    input,
};
use solstice_ledger::{AccountId, HistoryQuery, IdempotencyKey, Leg, Receipt, TransactionRequest};
use solstice_types::{
    ReferenceKind, WalletAddress,
    transfer::{Direction, Memo, Recipient, SendTransfer, Transfer, TransferPage},
};

use crate::{TransferState, error::TransferError};

/// A transfer request whose fields all parsed.
struct Checked {
    to: WalletAddress,
    leg: Leg,
    memo: Option<String>,
    key: IdempotencyKey,
}

fn check(sender: &WalletAddress, request: &SendTransfer) -> Result<Checked, TransferError> {
    let to = WalletAddress::parse(request.to.trim())?;
    if &to == sender {
        return Err(TransferError::ToSelf);
    }
    let token = input::token(&request.token)?;
    let amount = input::positive_amount(&request.amount, token)?;
    let memo = check_memo(request.memo.as_deref())?;
    let client_key = input::idempotency_key(&request.idempotency_key)?;
    // Scoped by the sender, so that two users' keys can never meet.
    let key = IdempotencyKey::scoped("trf", sender, client_key);
    let leg = Leg { from: AccountId::wallet(sender), to: AccountId::wallet(&to), token, amount };
    Ok(Checked { to, leg, memo, key })
}

/// An optional note, checked by the one rule every entry point shares ([`Memo::parse`]).
fn check_memo(memo: Option<&str>) -> Result<Option<String>, TransferError> {
    Ok(memo.map(Memo::parse).transpose()?.flatten().map(String::from))
}

/// `POST /v1/transfers`: sends tokens from the calling wallet.
pub(crate) async fn send(
    State(state): State<TransferState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<SendTransfer>,
) -> Result<(StatusCode, axum::Json<Transfer>), TransferError> {
    let checked = check(&caller.wallet, &request)?;
    if !state.wallets.contains(&checked.to).await? {
        return Err(TransferError::UnknownRecipient);
    }
    let mut request = TransactionRequest::new(ReferenceKind::Transfer, checked.key, vec![checked.leg]);
    let mut details = doc! {};
    if let Some(memo) = checked.memo {
        details.insert("memo", &memo);
        // The memo is part of what the key stands for: resent with another memo, it is refused.
        request = request.acting_on("memo", memo);
    }
    let request = request.with_details(details);
    let receipt = state.ledger.apply(request).await?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(transfer_view(&caller.wallet, receipt)?)))
}

#[derive(serde::Deserialize)]
pub(crate) struct HistoryParams {
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/transfers`: the calling wallet's transfers, sent and received, newest first.
pub(crate) async fn history(
    State(state): State<TransferState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<TransferPage>, TransferError> {
    let before = params.before.as_deref().map(input::reference).transpose()?;
    let limit = input::page_limit(params.limit)?;
    let query = HistoryQuery { kind: ReferenceKind::Transfer, token: None, since: None, until: None, before, limit };
    let page = state.ledger.reader().history(&AccountId::wallet(&caller.wallet), &query).await?;
    let next_before = page.next_before;
    let transfers =
        page.records.into_iter().map(|record| transfer_view(&caller.wallet, record)).collect::<Result<_, _>>()?;
    Ok(axum::Json(TransferPage { transfers, next_before }))
}

/// `GET /v1/transfers/{reference}`: one of the calling wallet's transfers.
pub(crate) async fn by_reference(
    State(state): State<TransferState>,
    Extension(caller): Extension<Caller>,
    Path(reference): Path<String>,
) -> Result<axum::Json<Transfer>, TransferError> {
    let reference = input::reference(&reference)?;
    if reference.kind() != ReferenceKind::Transfer {
        return Err(TransferError::NotFound(reference));
    }
    let record = state.ledger.reader().record_of(&AccountId::wallet(&caller.wallet), &reference).await?;
    Ok(axum::Json(transfer_view(&caller.wallet, record.ok_or(TransferError::NotFound(reference))?)?))
}

/// `GET /v1/recipients/{address}`: whether an address can receive transfers.
pub(crate) async fn recipient(
    State(state): State<TransferState>,
    Path(address): Path<String>,
) -> Result<axum::Json<Recipient>, TransferError> {
    let address = WalletAddress::parse(address.trim())?;
    if !state.wallets.contains(&address).await? {
        return Err(TransferError::NoSuchWallet);
    }
    Ok(axum::Json(Recipient { address }))
}

/// A ledger record of a transfer, as `viewer` (its sender or recipient) sees it.
fn transfer_view(viewer: &WalletAddress, record: Receipt) -> Result<Transfer, TransferError> {
    let corrupt = || TransferError::Corrupt(record.reference.clone());
    let [leg] = record.legs.as_slice() else { return Err(corrupt()) };
    let (AccountId::Wallet(from), AccountId::Wallet(to)) = (&leg.from, &leg.to) else { return Err(corrupt()) };
    // Shown as the rules allow now, whenever it was written.
    let memo = record
        .details
        .as_ref()
        .and_then(|details| details.get_str("memo").ok())
        .map(Memo::shown)
        .filter(|memo| !memo.is_empty());
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
    use solstice_types::{ErrorCode, ToApiError, transfer::MAX_MEMO_CHARS};

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
        let code = |request: SendTransfer| check(&me, &request).err().map(|error| error.to_api_error().code);
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

    #[test]
    fn memos_that_hide_or_reverse_text_are_refused() {
        for memo in ["abc\u{202E}def", "a\u{200B}b", "a\u{2067}b", "a\u{061C}b", "a\u{FEFF}b", "a\u{200D}b"] {
            let error = check_memo(Some(memo)).unwrap_err().to_api_error();
            assert_eq!(error.code, ErrorCode::InvalidInput, "{memo:?}");
            assert_eq!(error.message, "The memo contains invisible or direction-changing characters.", "{memo:?}");
        }
    }
}
