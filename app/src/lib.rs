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
mod routes;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::{
        auth::Auth,
        layout::{TabBar, TopBar},
        live_prices::LivePrices,
    },
    pages::not_found::NotFound,
    routes::*,
};

/// Where the built site's stylesheet is (its name carries a hash of its content when the
/// site was built with hashed names), provided by the host.
#[derive(Debug, Clone)]
pub struct SiteAssets {
    pub stylesheet: String,
}

/// Installs the service worker (`style/sw.js`) once the page has loaded, so that it never
/// competes with the page's own downloads, and tells it which of the build's files this page
/// loaded (its route's modules, fetched before the worker was there) to keep as well.
const REGISTER_SERVICE_WORKER: &str = "if ('serviceWorker' in navigator) addEventListener('load', () => { \
     navigator.serviceWorker.register('/sw.js').catch(() => {}); \
     navigator.serviceWorker.ready.then((registration) => registration.active && registration.active.postMessage({ \
     keep: performance.getEntriesByType('resource').map((entry) => entry.name) })); });";

/// The HTML document around the app, rendered on the host.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    backend::send_content_security_policy();
    let stylesheet = use_context::<SiteAssets>().map_or_else(|| "/pkg/solstice.css".to_owned(), |site| site.stylesheet);
    let nonce = leptos::nonce::use_nonce().map(|nonce| nonce.to_string());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
                <meta name="description" content="Solstice: your self-hosted home for Solana tokens." />
                <meta name="theme-color" content="#0f1020" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="stylesheet" href=stylesheet />
                <script nonce=nonce inner_html=REGISTER_SERVICE_WORKER></script>
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
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} />
                    <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()} />
                    <Route path=path!("/login") view={Lazy::<LogInRoute>::new()} />
                    <Route path=path!("/portfolio") view={Lazy::<PortfolioRoute>::new()} />
                    <Route path=path!("/markets") view={Lazy::<MarketsRoute>::new()} />
                    <Route path=path!("/markets/:symbol") view={Lazy::<TokenRoute>::new()} />
                    <Route path=path!("/send") view={Lazy::<SendRoute>::new()} />
                    <Route path=path!("/transfers") view={Lazy::<TransfersRoute>::new()} />
                    <Route path=path!("/transfers/:reference") view={Lazy::<TransferReceiptRoute>::new()} />
                    <Route path=path!("/swap") view={Lazy::<SwapRoute>::new()} />
                    <Route path=path!("/stake") view={Lazy::<StakeRoute>::new()} />
                    <Route path=path!("/swaps") view={Lazy::<SwapsRoute>::new()} />
                    <Route path=path!("/swaps/:reference") view={Lazy::<SwapDetailsRoute>::new()} />
                </Routes>
            </main>
            <TabBar />
        </Router>
    }
}
