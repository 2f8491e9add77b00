//! One module per page.

pub mod activity;
pub mod api_keys;
pub mod home;
pub mod login;
pub mod markets;
pub mod not_found;
pub mod portfolio;
pub mod receive;
pub mod send;
pub mod signup;
pub mod stake;
pub mod swap;
pub mod swaps;
pub mod transfers;
