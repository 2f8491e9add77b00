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
    response::{Html, IntoResponse, Response},
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
        .route("/docs", get(move || std::future::ready(Html(docs_page(service)))))
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

/// A self-contained page that renders the service's OpenAPI document: no CDN, no framework.
fn docs_page(service: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{service} API</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1b1d2a}}
h1{{margin-bottom:0}} .op{{border:1px solid #ccd;border-radius:8px;margin:1rem 0;padding:.75rem 1rem}}
.method{{font-weight:700;text-transform:uppercase;margin-right:.5rem}} code,pre{{background:#f3f3f8;border-radius:4px}}
pre{{padding:.5rem;overflow:auto}} .muted{{color:#555}}
</style></head>
<body><h1>{service} API</h1><p class="muted">From <a href="/openapi.json">/openapi.json</a>.</p><div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(spec => {{
  const ops = document.getElementById('ops'); ops.textContent = '';
  const intro = document.createElement('p'); intro.textContent = spec.info.description || ''; ops.append(intro);
  for (const [path, item] of Object.entries(spec.paths)) for (const [method, op] of Object.entries(item)) {{
    const box = document.createElement('section'); box.className = 'op';
    const head = document.createElement('h2'); const m = document.createElement('span'); m.className = 'method'; m.textContent = method;
    const p = document.createElement('code'); p.textContent = path; head.append(m, p);
    const summary = document.createElement('p'); summary.textContent = (op.summary || '') + (op.description ? ' ' + op.description : '');
    const responses = document.createElement('pre'); responses.textContent = JSON.stringify(op.responses, null, 2);
    box.append(head, summary, responses); ops.append(box);
  }}
  const schemas = document.createElement('pre'); schemas.textContent = JSON.stringify(spec.components || {{}}, null, 2);
  const title = document.createElement('h2'); title.textContent = 'Schemas'; ops.append(title, schemas);
}}).catch(() => {{ document.getElementById('ops').textContent = 'Could not load the API document.'; }});
</script></body></html>"#
    )
}

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
