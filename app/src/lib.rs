//! Solstice's user interface and server functions.
//!
//! Everything here compiles twice: with `ssr` for the host, which renders pages and runs the
//! server functions, and with `hydrate` for the browser, which makes those pages interactive.
//! Code that touches the database lives in [`backend`], which only exists with `ssr`.

// Leptos' view types nest deeply; erasing a page's view (inside an error boundary) computes
// its layout past the compiler's default depth of 128 in the optimised browser build.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
pub mod error;
pub mod model;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::{auth::Auth, layout::TopBar, live_prices::LivePrices},
    pages::{
        home::HomePage,
        login::LoginPage,
        markets::{MarketsPage, TokenPage},
        not_found::NotFound,
        portfolio::PortfolioPage,
        send::SendPage,
        signup::SignUpPage,
        stake::StakePage,
        swap::SwapPage,
        swaps::{SwapDetailsPage, SwapsPage},
        transfers::{TransferReceiptPage, TransfersPage},
    },
};

/// Where the built site's stylesheet is (its name carries a hash of its content when the
/// site was built with hashed names), provided by the host.
#[derive(Debug, Clone)]
pub struct SiteAssets {
    pub stylesheet: String,
}

/// The HTML document around the app, rendered on the host.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    backend::send_content_security_policy();
    let stylesheet = use_context::<SiteAssets>().map_or_else(|| "/pkg/solstice.css".to_owned(), |site| site.stylesheet);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="description" content="Solstice: your self-hosted home for Solana tokens." />
                <meta name="theme-color" content="#0f1020" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href=stylesheet />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: top bar and routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(Auth::new());
    LivePrices::provide();

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Solstice".to_owned() } else { format!("{page} · Solstice") } />
        <Router>
            <TopBar />
            <main class="page" id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/signup") view=SignUpPage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/portfolio") view=PortfolioPage />
                    <Route path=path!("/markets") view=MarketsPage />
                    <Route path=path!("/markets/:symbol") view=TokenPage />
                    <Route path=path!("/send") view=SendPage />
                    <Route path=path!("/transfers") view=TransfersPage />
                    <Route path=path!("/transfers/:reference") view=TransferReceiptPage />
                    <Route path=path!("/swap") view=SwapPage />
                    <Route path=path!("/stake") view=StakePage />
                    <Route path=path!("/swaps") view=SwapsPage />
                    <Route path=path!("/swaps/:reference") view=SwapDetailsPage />
                </Routes>
            </main>
        </Router>
    }
}
