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

#[cfg(feature = "hydrate")]
pub use components::live_prices::page_hydrated;
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

/// The built site's files, named by the host (from `pkg/hash.txt` and the splitter's
/// manifest, both written by `build_site` in scripts/lib.sh) once at start-up.
#[derive(Debug, Clone)]
pub struct SiteAssets {
    /// The stylesheet's path, `/pkg/solstice.<hash>.css`.
    pub stylesheet: String,
    /// wasm-bindgen's glue, `/pkg/solstice.<hash>.js`.
    pub script: String,
    /// The main WASM module.
    pub wasm: String,
    /// Each group of pages' WASM modules (`app::routes`) and the loader that fetches them, by
    /// the group's name: space-separated paths, as the page names them.
    pub page_modules: std::sync::Arc<std::collections::HashMap<String, String>>,
}

impl Default for SiteAssets {
    /// A site built without hashed names or splitting.
    fn default() -> Self {
        SiteAssets {
            stylesheet: "/pkg/solstice.css".to_owned(),
            script: "/pkg/solstice.js".to_owned(),
            wasm: "/pkg/solstice.wasm".to_owned(),
            page_modules: Default::default(),
        }
    }
}

/// The name of the `<meta>` that lists the current page's WASM modules (`preload_page_modules`).
macro_rules! page_modules_meta {
    () => {
        "solstice-page-modules"
    };
}

/// Installs the service worker (`style/sw.js`) once the page has loaded, so that it never
/// competes with the page's own downloads, and tells it which of the build's files this page
/// uses (its modules, fetched before the worker was there, or still on their way) to keep too.
const REGISTER_SERVICE_WORKER: &str = concat!(
    "if ('serviceWorker' in navigator) addEventListener('load', () => { \
     navigator.serviceWorker.register('/sw.js').catch(() => {}); \
     const modules = document.querySelector('meta[name=",
    page_modules_meta!(),
    "]'); \
     navigator.serviceWorker.ready.then((registration) => registration.active && registration.active.postMessage({ \
     keep: performance.getEntriesByType('resource').map((entry) => entry.name).concat(modules ? modules.content.split(' ') : []) })); });"
);

/// Starts the app in the browser once the page has loaded and the browser is idle (or 2 s
/// after load at the latest), so that its code never competes with what the page shows: the
/// page is whole and usable before, as its forms post without it. Then fetches the main
/// module, the page's own modules (named by `preload_page_modules`) and their loader, at low
/// priority, asking for six at a time in tasks of their own (a page names up to 70: adding all
/// their links in one go was a long task of up to 300 ms on a phone), and hydrates in a task of
/// its own after the module has started, so that a tap in between is not held up by both.
/// Called with the glue's and the main WASM's paths.
const HYDRATE: &str = concat!(
    "((script, wasm) => { \
     const start = () => { \
       const modules = document.querySelector('meta[name=",
    page_modules_meta!(),
    "]'); \
       const hrefs = [wasm].concat(modules ? modules.content.split(' ') : []); \
       const add = (from) => { \
         for (const href of hrefs.slice(from, from + 6)) { \
           const link = Object.assign(document.createElement('link'), { href, crossOrigin: 'anonymous', fetchPriority: 'low' }); \
           if (href.endsWith('.js')) link.rel = 'modulepreload'; else Object.assign(link, { rel: 'preload', as: 'fetch', type: 'application/wasm' }); \
           document.head.append(link); \
         } \
         if (from + 6 < hrefs.length) setTimeout(() => add(from + 6)); \
       }; \
       add(0); \
       import(script).then((app) => app.default({ module_or_path: wasm }).then(() => setTimeout(() => app.hydrate()))); \
     }; \
     const idle = () => 'requestIdleCallback' in window ? requestIdleCallback(start, { timeout: 2000 }) : setTimeout(start, 1); \
     document.readyState === 'complete' ? idle() : addEventListener('load', idle, { once: true }); })"
);

/// Names in the page's `<head>` the WASM modules of its group of pages (`app::routes`), and
/// the loader that fetches them, for the start-up script to fetch at once with the main module.
#[cfg(feature = "ssr")]
fn preload_page_modules(group: &str) {
    let Some(site) = use_context::<SiteAssets>() else {
        return;
    };
    let Some(content) = site.page_modules.get(group).cloned() else {
        return;
    };
    // `to_html` hands the tag to the page's <head>; it renders nothing in place.
    _ = view! { <leptos_meta::Meta name=page_modules_meta!() content /> }.to_html();
}

/// The HTML document around the app, rendered on the host.
pub fn shell() -> impl IntoView {
    #[cfg(feature = "ssr")]
    backend::send_content_security_policy();
    let site = use_context::<SiteAssets>().unwrap_or_default();
    let nonce = leptos::nonce::use_nonce().map(|nonce| nonce.to_string());
    let hydrate = format!("{HYDRATE}({:?}, {:?});", site.script, site.wasm);
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
                <link rel="stylesheet" href=site.stylesheet />
                <script nonce=nonce.clone() inner_html=REGISTER_SERVICE_WORKER></script>
                <script type="module" nonce=nonce inner_html=hydrate></script>
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
    let live = LivePrices::provide();
    provide_context(Auth::new(live));

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
                    <Route path=path!("/receive") view={Lazy::<ReceiveRoute>::new()} />
                    <Route path=path!("/transfers") view={Lazy::<TransfersRoute>::new()} />
                    <Route path=path!("/transfers/:reference") view={Lazy::<TransferReceiptRoute>::new()} />
                    <Route path=path!("/swap") view={Lazy::<SwapRoute>::new()} />
                    <Route path=path!("/stake") view={Lazy::<StakeRoute>::new()} />
                    <Route path=path!("/swaps") view={Lazy::<SwapsRoute>::new()} />
                    <Route path=path!("/swaps/:reference") view={Lazy::<SwapDetailsRoute>::new()} />
                    <Route path=path!("/activity") view={Lazy::<ActivityRoute>::new()} />
                    <Route path=path!("/activity/:reference") view={Lazy::<ActivityReceiptRoute>::new()} />
                    <Route path=path!("/api-keys") view={Lazy::<ApiKeysRoute>::new()} />
                </Routes>
            </main>
            <TabBar />
        </Router>
    }
}
