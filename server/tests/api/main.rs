//! The host over real HTTP against a real database, alone or with the four services: one test
//! binary (linked once), one set of helpers.

mod accounts;
mod activity;
mod assets;
mod events;
mod hardening;
mod helpers;
mod prices;
mod public_api;
mod security;
mod services;
