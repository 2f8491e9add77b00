//! What every service serves besides its API: probes, metrics, API docs, graceful shutdown.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use mongodb::{Database, bson::doc};

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Method, route template and status of a request.
type SeriesKey = (String, String, u16);

/// Request counts and durations per route and status, in Prometheus' text format.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<BTreeMap<SeriesKey, Series>>>,
}

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

impl Metrics {
    fn record(&self, method: String, route: String, status: u16, seconds: f64) {
        let mut series = self.inner.lock().expect("metrics lock");
        let entry = series.entry((method, route, status)).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self, service: &str) -> String {
        let series = self.inner.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests answered, by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((method, route, status), s) in series.iter() {
            out.push_str(&format!(
                "http_requests_total{{service=\"{service}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}\n",
                s.count
            ));
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("service=\"{service}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, count) in BUCKETS.iter().zip(s.buckets) {
                out.push_str(&format!("http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}\n"));
            }
            out.push_str(&format!("http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n", s.count));
            out.push_str(&format!("http_request_duration_seconds_sum{{{labels}}} {}\n", s.sum_seconds));
            out.push_str(&format!("http_request_duration_seconds_count{{{labels}}} {}\n", s.count));
        }
        out
    }
}

async fn measure(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    // Only standard methods become labels: anyone can send made-up ones.
    let method = match *request.method() {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::HEAD | Method::OPTIONS => {
            request.method().to_string()
        }
        _ => "other".to_owned(),
    };
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| path.as_str()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record(method, route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Adds to a service's API router: `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and
/// `/docs`, and request metrics for everything.
pub fn with_operations(api: Router, service: &'static str, database: Database, openapi: serde_json::Value) -> Router {
    let metrics = Metrics::default();
    let openapi = Arc::new(openapi.to_string());
    let rendered = metrics.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(move || readyz(database.clone())))
        .route(
            "/metrics",
            get(move || {
                std::future::ready(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], rendered.render(service)))
            }),
        )
        .route(
            "/openapi.json",
            get(move || {
                std::future::ready(([(header::CONTENT_TYPE, "application/json")], openapi.as_str().to_owned()))
            }),
        )
        .merge(docs())
        .merge(api)
        .layer(middleware::from_fn_with_state(metrics, measure))
}

/// Ready when the database answers a ping.
pub async fn readyz(database: Database) -> Response {
    match database.run_command(doc! { "ping": 1 }).await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(error = %error.kind, "not ready: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Swagger UI at `/docs` for the service's own `/openapi.json`: its files come with the binary
/// (nothing is loaded from elsewhere), the same viewer as the host's public API.
fn docs() -> Router {
    let config = utoipa_swagger_ui::Config::from("/openapi.json")
        .validator_url("none")
        .use_base_layout()
        .display_request_duration(true);
    Router::from(utoipa_swagger_ui::SwaggerUi::new("/docs").config(config)).layer(
        tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(DOCS_POLICY),
        ),
    )
}

/// The Content Security Policy of a Swagger UI page (here and on the host's public API): its own
/// scripts and styles only, and its inline icons.
pub const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Completes on Ctrl-C or SIGTERM (what Kubernetes sends before stopping a pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("stop signal received");
}

/// How much of a refused body is still read, and dropped, before the refusal is sent.
///
/// A client that is still sending when the server answers and closes the connection may get a
/// reset instead of the answer: reading the rest first lets it see why it was refused. Past
/// this, the connection is simply closed.
const DRAIN_BYTES: usize = 1024 * 1024;

/// Reads a request body of at most `limit` bytes.
///
/// A longer body is refused with 413 and the shared error body, once the rest of it (up to
/// [`DRAIN_BYTES`]) has been read, or at once when its declared length is past that; one that
/// breaks off is refused with 400.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, Response> {
    use axum::body::HttpBody;
    use futures::StreamExt;
    use solstice_types::{ApiError, ErrorCode};

    let too_large = || crate::error::ErrorResponse(ApiError::new(ErrorCode::TooLarge, "The request is too large."));
    if body.size_hint().lower() > DRAIN_BYTES as u64 {
        return Err(too_large().into_response());
    }
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            let error = ApiError::new(ErrorCode::InvalidInput, "The request body could not be read.");
            return Err(crate::error::ErrorResponse(error).into_response());
        };
        total = total.saturating_add(chunk.len());
        if total <= limit {
            kept.extend_from_slice(&chunk);
        } else if total > DRAIN_BYTES {
            break;
        }
    }
    if total > limit {
        return Err(too_large().into_response());
    }
    Ok(kept.into())
}
