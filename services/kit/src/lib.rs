//! Plumbing shared by every Solstice service and by the host that calls them. No business
//! logic lives here: only how services authenticate callers, answer errors, report health
//! and metrics, document their API and shut down.

pub mod auth;
pub mod client;
pub mod error;
pub mod extract;
pub mod http;
pub mod input;
pub mod lease;
pub mod lifecycle;
mod nonces;
pub mod openapi;
pub mod serve;
pub mod start;
