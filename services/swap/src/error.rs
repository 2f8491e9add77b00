//! Everything that can go wrong with a swap, each with the sentence its user reads.

use axum::response::{IntoResponse, Response};
use solstice_kit::error::ErrorResponse;
use solstice_ledger::{AccountId, LedgerError, database_error};
use solstice_types::{ApiError, ErrorCode, Reference, ToApiError, Token, format_bps};

use crate::pricing::PricingError;

#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// A field that did not parse (token, amount, key, reference, page size).
    #[error(transparent)]
    Input(#[from] ApiError),
    #[error("Choose two different tokens.")]
    SameToken,
    #[error("Choose a slippage tolerance between 0.01% and 5%.")]
    SlippageOutOfRange,
    #[error("That date is out of range.")]
    DateOutOfRange,
    #[error("The start date must be before the end date.")]
    DatesReversed,
    #[error("Live prices are unavailable right now, so swaps are paused. Try again shortly.")]
    PriceStale,
    #[error("Price sources disagree about {0} right now, so its swaps are paused. Try again shortly.")]
    PriceSuspect(Token),
    #[error("That amount is too small to swap.")]
    TooSmall,
    #[error("That amount is too large for the exchange right now.")]
    TooLarge,
    #[error("This quote does not exist. Get a new quote.")]
    QuoteNotFound,
    #[error("This quote expired. Get a new quote to swap at the live price.")]
    QuoteExpired,
    #[error("This quote was already used. Get a new quote.")]
    QuoteUsed,
    /// The market moved past the quote's slippage tolerance (in basis points).
    #[error("The price moved more than your {} slippage tolerance since this quote. Review the new quote.", format_bps(*.0))]
    PriceMoved(u32),
    #[error("Your {0} balance is too low for this swap.")]
    InsufficientFunds(Token),
    #[error("The exchange cannot deliver this much {0} right now. Try a smaller amount.")]
    InsufficientLiquidity(Token),
    #[error("You have no swap {0}.")]
    NotFound(Reference),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error("the database")]
    Store(#[from] mongodb::error::Error),
    #[error("recording a swap")]
    Encode(#[from] mongodb::bson::ser::Error),
    #[error("stored swap data is corrupt: {0}")]
    Corrupt(&'static str),
}

impl From<PricingError> for SwapError {
    fn from(error: PricingError) -> SwapError {
        match error {
            PricingError::TooSmall => SwapError::TooSmall,
            PricingError::TooLarge => SwapError::TooLarge,
        }
    }
}

impl From<LedgerError> for SwapError {
    /// What a swap does once is fill its quote, so "already done" means the quote was used; a
    /// short wallet is the user's, a short treasury the exchange's.
    fn from(error: LedgerError) -> SwapError {
        match error {
            LedgerError::InsufficientFunds { account: AccountId::Wallet(_), token } => {
                SwapError::InsufficientFunds(token)
            }
            LedgerError::InsufficientFunds { token, .. } => SwapError::InsufficientLiquidity(token),
            LedgerError::AlreadyDone(_) => SwapError::QuoteUsed,
            other => SwapError::Ledger(other),
        }
    }
}

impl ToApiError for SwapError {
    fn to_api_error(&self) -> ApiError {
        let code = match self {
            SwapError::Input(error) => return error.clone(),
            SwapError::Ledger(error) => return error.to_api_error(),
            SwapError::Store(error) => return database_error(error),
            SwapError::SameToken
            | SwapError::SlippageOutOfRange
            | SwapError::DateOutOfRange
            | SwapError::DatesReversed => ErrorCode::InvalidInput,
            SwapError::PriceStale | SwapError::PriceSuspect(_) => ErrorCode::PriceStale,
            SwapError::TooSmall => ErrorCode::InvalidAmount,
            SwapError::TooLarge | SwapError::InsufficientLiquidity(_) => ErrorCode::InsufficientLiquidity,
            SwapError::QuoteNotFound | SwapError::NotFound(_) => ErrorCode::NotFound,
            SwapError::QuoteExpired => ErrorCode::QuoteExpired,
            SwapError::QuoteUsed => ErrorCode::Conflict,
            SwapError::PriceMoved(_) => ErrorCode::PriceMoved,
            SwapError::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
            SwapError::Encode(_) | SwapError::Corrupt(_) => ErrorCode::Internal,
        };
        ApiError::new(code, self.to_string())
    }
}

impl IntoResponse for SwapError {
    fn into_response(self) -> Response {
        ErrorResponse::from(self).into_response()
    }
}
