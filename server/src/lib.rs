//! The Solstice host: renders pages, runs server functions, keeps sessions and serves the
//! built site. `main.rs` only starts it; tests build it on a free port.

// Leptos' view types nest deeply; wrapped in the host's middleware stack, computing their
// layout goes past the compiler's default depth of 128.
#![recursion_limit = "256"]

pub mod config;
pub mod public_api;
pub mod session_store;
mod ws;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use app::{
    App, SiteAssets,
    backend::{self, HostState, prices::PriceHub, services::Services, session::ClientIp},
    shell,
};
use axum::{
    Json, Router,
    body::Body,
    extract::{ConnectInfo, Request},
    http::{
        HeaderMap, HeaderName, HeaderValue, Method, StatusCode,
        header::{CACHE_CONTROL, HOST, ORIGIN},
    },
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::{prelude::*, server_fn::error::SERVER_FN_ERROR_HEADER};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use mongodb::Database;
use solstice_kit::{
    auth::SigningKey,
    http::readyz,
    lifecycle::{Lifecycle, readiness_gate},
    serve::{ConnectionLimits, serve},
    start::{StartError, connect, listen},
};
use solstice_types::{ApiError, ErrorCode};
use tokio::net::TcpListener;
use tower::util::option_layer;
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

pub use crate::config::Config;
use crate::session_store::MongoSessionStore;

/// Largest request body the host accepts: forms and server-function arguments are small.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "solstice_session";

/// A host bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    prices: PriceHub,
    shutdown_delay: Duration,
    limits: ConnectionLimits,
}

impl Application {
    /// Connects to the database, prepares it, and binds the listening socket.
    pub async fn build(config: Config) -> Result<Application, StartError> {
        let host = config.host().map_err(StartError::Config)?;
        let (client, database) = connect(&config.mongodb_uri, &config.database, "solstice-host").await?;
        let key = SigningKey::from_hex("host", config.signing_key.expose())?;
        let timeout = Duration::from_millis(config.service_timeout_ms);
        let services = Services::new(&config.service_urls(), key, timeout)?;
        let state = HostState::init(client, &database, host, services).await?;
        state.prices.start();
        let prices = state.prices.clone();
        state.events.start(async move { prices.closed().await });
        let sessions = MongoSessionStore::new(&database, Duration::from_secs(u64::from(config.session_cache_seconds)));
        sessions.init().await?;

        let listener = listen(config.addr).await?;
        let site_addr = listener.local_addr().expect("a bound listener has an address");
        let prices = state.prices.clone();
        let router = router(&config, state, database, sessions, site_addr);
        let shutdown_delay = Duration::from_secs(config.shutdown_delay_seconds);
        Ok(Application { listener, router, prices, shutdown_delay, limits: config.limits.clone() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes; then reports not ready for the shutdown delay while
    /// still serving, tells websocket clients to reconnect (by then to another replica), stops
    /// accepting connections and finishes the requests in flight.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Application { listener, router, prices, shutdown_delay, limits } = self;
        let lifecycle = Lifecycle::new();
        let stopped = lifecycle.shutdown_after(shutdown, shutdown_delay);
        let shutdown = async move {
            stopped.await;
            prices.close();
        };
        let router = router.layer(middleware::from_fn_with_state(lifecycle, readiness_gate));
        serve(listener, router, &limits, shutdown).await
    }
}

/// The host's routes and middleware.
pub fn router(
    config: &Config,
    state: HostState,
    database: Database,
    sessions: MongoSessionStore,
    site_addr: SocketAddr,
) -> Router {
    let assets = read_site_assets(&config.site_root);
    let options = LeptosOptions::builder()
        .output_name("solstice")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        .build();
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        // An active session's expiry moves forward when it is saved: at log-in, and about once a
        // minute while in use (`app::backend::session::current_wallet`), not on every request.
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(i64::from(config.session_idle_minutes))));
    let trusted_hops = config.trusted_proxy_hops;
    let routes = route_list();
    let context_state = state.clone();
    let fallback_state = state.clone();
    let api = public_api::router(state.clone());
    let sockets = ws::Sockets {
        hub: state.prices.clone(),
        events: state.events.clone(),
        services: state.services.clone(),
        session_lifetime: state.config.session_lifetime,
        gate: ws::SocketGate::new(ws::SocketLimits {
            per_client: config.ws_per_client,
            total: config.ws_max_connections,
            allowed_origins: config.allowed_origins.clone(),
        }),
    };

    // Pages and server functions need the session. Probes, the price socket and the built
    // assets do not: keeping the session layer off them spares two database round trips (load
    // and sliding-expiry save) on every asset download.
    let pages = Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            {
                let assets = assets.clone();
                move || {
                    provide_context(context_state.clone());
                    provide_context(assets.clone());
                }
            },
            shell,
        )
        // The "not found" page is the app too: its top bar asks who is logged in.
        .fallback(leptos_axum::file_and_error_handler_with_context(
            move || {
                provide_context(fallback_state.clone());
                provide_context(assets.clone());
            },
            |_| shell(),
        ))
        // The activity as a CSV download: a plain route (a server function's answer is one
        // body in memory), behind the same session.
        .route("/activity.csv", get(move |session, query| backend::activity::export_csv(state.clone(), session, query)))
        .with_state(options)
        .layer(session_layer.clone())
        .layer(middleware::from_fn(server_fn_error_status))
        // Pages show the logged-in user's address and balances, and server functions answer
        // with them: no copy of either may be kept by the browser or a proxy.
        .layer(SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let site_root = &config.site_root;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(move || readyz(database.clone())))
        .route(
            "/ws/prices",
            // The session tells whose account events the socket gets (none for a visitor).
            get(move |upgrade, headers, client, session| {
                ws::prices(upgrade, headers, client, session, sockets.clone())
            })
            .layer(session_layer),
        )
        .merge(
            // The built site. Precompressed at build (brotli, gzip); hashed names are kept for
            // a year, the rest is checked each time. The service worker must sit at the root
            // to look after every page.
            Router::new()
                .nest_service("/pkg", ServeDir::new(site_root.join("pkg")).precompressed_br().precompressed_gzip())
                .nest_service("/icons", ServeDir::new(site_root.join("icons")))
                .route_service("/favicon.svg", ServeFile::new(site_root.join("favicon.svg")))
                .route_service("/manifest.webmanifest", ServeFile::new(site_root.join("manifest.webmanifest")))
                .route_service("/sw.js", ServeFile::new(site_root.join("sw.js")))
                .route_service("/offline.html", ServeFile::new(site_root.join("offline.html")))
                .layer(middleware::from_fn(asset_caching)),
        )
        // The public API, for scripts with a personal API key: no session layer, so the
        // session cookie means nothing there.
        .merge(api)
        .merge(pages)
        .layer(middleware::from_fn(move |request, next| client_ip(trusted_hops, request, next)))
        .layer(middleware::from_fn(refuse_cross_site_writes))
        .layer(middleware::from_fn(limit_body))
        .layer(CompressionLayer::new())
        .layer(security_header("x-content-type-options", "nosniff"))
        .layer(security_header("x-frame-options", "DENY"))
        .layer(security_header("referrer-policy", "same-origin"))
        // Over HTTPS (which `Secure` cookies mean), browsers must never come back over HTTP.
        .layer(option_layer(
            config
                .cookie_secure
                .then(|| security_header("strict-transport-security", "max-age=63072000; includeSubDomains")),
        ))
        .layer(TraceLayer::new_for_http())
}

/// The app's routes, generated once per process.
///
/// Generating them sets Leptos' process-wide "suppress resource loads" flag for the while
/// (leptos-rs/leptos#4773): a resource first polled meanwhile, by any page rendered in the
/// process, waits forever, and so does that page. One host per process (production) generates
/// them before it serves; tests run many hosts in one process, starting while others serve.
/// Generated once, by the first host, before any host serves, they never raise the flag again.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The built site's file names: `pkg/hash.txt` (`js: <hash>` lines, written by `build_site` in
/// scripts/lib.sh) gives the main files' hashes, and the splitter's manifest each group of
/// pages' modules. A site built without them (no hashes, no splitting) keeps the plain names.
fn read_site_assets(site_root: &std::path::Path) -> SiteAssets {
    let pkg = site_root.join("pkg");
    let mut assets = SiteAssets::default();
    if let Ok(hashes) = std::fs::read_to_string(pkg.join("hash.txt")) {
        for (kind, hash) in hashes.lines().filter_map(|line| line.split_once(':')) {
            let path = format!("/pkg/solstice.{}.{kind}", hash.trim());
            match kind {
                "css" => assets.stylesheet = path,
                "js" => assets.script = path,
                "wasm" => assets.wasm = path,
                _ => {}
            }
        }
    }
    assets.page_modules = std::sync::Arc::new(read_page_modules(&pkg));
    assets
}

/// The splitter's manifest (`pkg/__wasm_split_manifest.json`) names the modules of each lazy
/// function by the function's name and a hash of where it was written (`wallet_pages_1234`):
/// keyed here by the name alone, each group's files as the page names them (space-separated
/// paths, ending with the split loader that fetches them), built once here rather than on
/// every page.
fn read_page_modules(pkg: &std::path::Path) -> std::collections::HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(pkg.join("__wasm_split_manifest.json")) else {
        return Default::default();
    };
    let manifest: std::collections::HashMap<String, Vec<String>> = match serde_json::from_str(&text) {
        Ok(manifest) => manifest,
        Err(error) => {
            tracing::error!(%error, "the site's split manifest is not valid: pages will load their modules on demand");
            return Default::default();
        }
    };
    // `build_site` keeps the loader under the name the splitter gives it.
    let loader = std::fs::read_dir(pkg)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with("__wasm_split.") && name.ends_with(".js"));
    manifest
        .into_iter()
        .map(|(key, modules)| {
            let group = key.rsplit_once('_').map_or(key.as_str(), |(group, _)| group).to_owned();
            let files: Vec<String> = modules
                .iter()
                .map(|module| format!("/pkg/{module}.wasm"))
                .chain(loader.iter().map(|loader| format!("/pkg/{loader}")))
                .collect();
            (group, files.join(" "))
        })
        .collect()
}

/// Whether a file name carries a content hash (`solstice.0123456789abcdef.wasm`).
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Files whose names carry their content's hash never change: browsers keep them for a year.
/// Others (wasm-bindgen's snippets) are checked with the host each time (a 304 when unchanged).
async fn asset_caching(request: Request, next: Next) -> Response {
    let immutable = is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

fn security_header(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(HeaderName::from_static(name), HeaderValue::from_static(value))
}

/// Gives each server function error the HTTP status of its code in the shared table.
///
/// Server functions answer every error with 500; the body says what kind of error it was, so
/// the status (400 for bad input, 401, 429, ...) is set from it here, in one place, covering
/// also the errors raised before the function runs (such as a missing form field).
async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Refuses a request body past [`MAX_BODY_BYTES`] with 413, after reading what the client is
/// still sending, so that it gets the answer rather than a reset connection.
async fn limit_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match solstice_kit::http::read_body(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(refused) => refused,
    }
}

/// Records the client's IP for the rate limits.
///
/// Behind `trusted_hops` reverse proxies, each of which appends the address it received the
/// request from to `X-Forwarded-For`, the client is the entry `trusted_hops` from the right:
/// entries further left were written by the client itself and prove nothing.
async fn client_ip(trusted_hops: usize, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let client = forwarded_client(request.headers(), trusted_hops).or(peer);
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

fn forwarded_client(headers: &HeaderMap, trusted_hops: usize) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    entries.iter().rev().nth(trusted_hops - 1).and_then(|entry| entry.parse().ok())
}

/// Whether the page that sent the request (`Origin`, which browsers set) is of this host:
/// `None` when no origin is given (not a browser). An origin that cannot be read, `null`
/// included, is not this host.
pub(crate) fn origin_is_this_host(headers: &HeaderMap) -> Option<bool> {
    let origin = headers.get(ORIGIN)?;
    let origin_host = origin.to_str().ok().and_then(|origin| origin.split_once("://")).map(|(_, host)| host);
    let host = headers.get(HOST).and_then(|host| host.to_str().ok());
    Some(origin_host.is_some() && origin_host == host)
}

/// Refuses requests that change things when they come from another site, so that no other
/// page can log a visitor in or out, or act for them, with a hidden form.
async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    let reads_only = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = request.headers();
    let cross_site = headers.get("sec-fetch-site").is_some_and(|site| site == "cross-site");
    let foreign_origin = headers.contains_key(HOST) && origin_is_this_host(headers) == Some(false);
    if !reads_only && (cross_site || foreign_origin) {
        let error = ApiError::new(ErrorCode::Forbidden, "Requests from other sites are not accepted.");
        return (StatusCode::FORBIDDEN, Json(error)).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded_for(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn hashed_file_names_are_recognised() {
        assert!(is_hashed("/pkg/solstice.0123456789abcdef.wasm"));
        assert!(is_hashed("/solstice.0123456789abcdef.css"));
        assert!(!is_hashed("/pkg/solstice.js"));
        assert!(!is_hashed("/pkg/snippets/app-0cd1cead3f0174fd/inline0.js"));
    }

    #[test]
    fn without_trusted_proxies_forwarded_for_is_ignored() {
        assert_eq!(forwarded_client(&forwarded_for(&["203.0.113.9"]), 0), None);
    }

    #[test]
    fn the_client_is_the_entry_the_outermost_trusted_proxy_added() {
        // The client claims to be 1.2.3.4; the ingress appends the address it really saw.
        let headers = forwarded_for(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(forwarded_client(&headers, 1), Some("203.0.113.9".parse().unwrap()));
        let two_proxies = forwarded_for(&["1.2.3.4", "203.0.113.9, 10.0.0.7"]);
        assert_eq!(forwarded_client(&two_proxies, 2), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(forwarded_client(&forwarded_for(&[]), 1), None);
        assert_eq!(forwarded_client(&forwarded_for(&["garbage"]), 1), None);
    }
}
