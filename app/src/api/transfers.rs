//! Server functions for sending tokens and reading transfers, answered by the transfer service.

use leptos::prelude::*;
use solstice_types::{
    WalletAddress,
    transfer::{Recipient, Transfer, TransferPage},
};

use crate::{error::AppError, model::AddressQr};

/// How many recent recipients the send page offers.
pub const RECENT_RECIPIENTS: usize = 5;

/// How many pages of transfers are looked through for them (a wallet that mostly receives may
/// have sent nothing lately).
#[cfg(feature = "ssr")]
const RECIPIENT_PAGES: usize = 4;

/// Sends tokens from the logged-in wallet. `idempotency_key` is chosen by the browser for each
/// send, so that a retried submission never sends twice.
#[server(endpoint = "send_transfer")]
pub async fn send_transfer(
    to: String,
    token: String,
    amount: String,
    memo: String,
    idempotency_key: String,
) -> Result<Transfer, AppError> {
    use solstice_types::transfer::SendTransfer;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let memo = Some(memo).filter(|memo| !memo.trim().is_empty());
    let request = SendTransfer { to, token, amount, memo, idempotency_key };
    Ok(state.services.transfer.send(&wallet, &request).await?)
}

/// Checks that an address is a Solstice wallet before the user confirms a transfer to it.
#[server(endpoint = "find_recipient")]
pub async fn find_recipient(address: String) -> Result<Recipient, AppError> {
    use solstice_types::{ApiError, ErrorCode, WalletAddress};

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let address = WalletAddress::parse(address.trim())
        .map_err(|error| ApiError::new(ErrorCode::InvalidAddress, error.to_string()))?;
    Ok(state.services.transfer.recipient(&wallet, &address).await?)
}

/// A page of the logged-in wallet's transfers, newest first; `before` is the previous page's
/// `next_before`.
#[server(endpoint = "my_transfers")]
pub async fn my_transfers(before: Option<String>) -> Result<TransferPage, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    Ok(state.services.transfer.history(&wallet, before).await?)
}

/// One of the logged-in wallet's transfers, by reference number.
#[server(endpoint = "my_transfer")]
pub async fn my_transfer(reference: String) -> Result<Transfer, AppError> {
    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let reference = solstice_kit::input::reference(&reference)?;
    Ok(state.services.transfer.transfer(&wallet, &reference).await?)
}

/// The logged-in wallet's address for receiving, with its QR code.
#[server(endpoint = "receive_code")]
pub async fn receive_code() -> Result<AddressQr, AppError> {
    use crate::backend::{self, error::HostError};
    let wallet = backend::session::require_wallet().await?;
    let qr = backend::qr::draw(&wallet.to_string()).map_err(HostError::from)?;
    Ok(AddressQr { address: wallet, qr })
}

/// The wallets the logged-in wallet sent to last, most recent first, each once.
#[server(endpoint = "recent_recipients")]
pub async fn recent_recipients() -> Result<Vec<WalletAddress>, AppError> {
    use solstice_types::transfer::Direction;

    use crate::backend;
    let state = backend::state()?;
    let wallet = backend::session::require_wallet().await?;
    let mut recipients: Vec<WalletAddress> = Vec::new();
    let mut before = None;
    for _ in 0..RECIPIENT_PAGES {
        let page = state.services.transfer.history(&wallet, before).await?;
        for transfer in page.transfers.into_iter().filter(|transfer| transfer.direction == Direction::Sent) {
            if recipients.len() < RECENT_RECIPIENTS && !recipients.contains(&transfer.to) {
                recipients.push(transfer.to);
            }
        }
        match page.next_before {
            Some(next) if recipients.len() < RECENT_RECIPIENTS => before = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(recipients)
}
