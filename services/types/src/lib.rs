//! Types shared by every part of Solstice: the host, the services and the browser.
//!
//! Nothing here touches the network or the database, so the same parsing and formatting
//! runs on the server and in WASM, and both always agree.

pub mod activity;
mod address;
mod amount;
pub mod api_key;
mod error;
mod hex;
#[cfg(feature = "openapi")]
mod openapi;
pub mod portfolio;
mod price;
mod reference;
pub mod stake;
pub mod swap;
mod token;
pub mod transfer;

pub use address::{AddressError, WalletAddress};
pub use amount::{Amount, AmountError};
pub use error::{ApiError, ErrorCode, ToApiError};
pub use hex::{hex, unhex};
pub use price::{UsdPrice, UsdValue, format_bps, format_change_bps};
pub use reference::{InvalidReference, Reference, ReferenceKind};
pub use token::{Token, TokenInfo, UnknownToken};
