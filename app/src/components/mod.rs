//! Pieces shared by several pages.

pub mod auth;
pub mod copy;
pub mod layout;
