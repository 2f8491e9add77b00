//! Serving HTTP with limits against slow and greedy clients, for the host and every service.
//!
//! `axum::serve` has no timeouts: a connection that sends its headers one byte a minute (a
//! "slow-loris") stays open for as long as it likes, and enough of them exhaust a process's
//! file descriptors. Here each connection gets
//! - a **header-read timeout**: a client that has not sent a request's complete headers this
//!   long after it started (or, on a kept-alive connection, after the previous answer) is
//!   disconnected;
//! - a **request timeout**: a request whose answer is not ready this long after its headers
//!   arrived (a body uploaded slowly included) gets a 503 and the connection is closed;
//! - a place under a **connection cap**: past it, new connections wait in the kernel's listen
//!   queue until one closes, instead of each costing memory and a file descriptor.
//!
//! Upgraded connections (websockets) leave hyper once upgraded: they are bounded by the
//! websocket's own limits (see the host's `ws` module), and do not count against the cap.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use solstice_types::{ApiError, ErrorCode};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

use crate::error::ErrorResponse;

/// Time and connection limits of a server; every process reads them from the same settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's headers; also how long an idle kept-alive
    /// connection stays open.
    #[arg(long, env = "SOLSTICE_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_timeout_seconds: u64,
    /// Seconds from a request's headers to its answer (a slow body upload included); past it
    /// the client gets a 503 and the connection is closed.
    #[arg(long, env = "SOLSTICE_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Most HTTP connections served at once; further ones wait in the listen queue.
    #[arg(long, env = "SOLSTICE_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: u32,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits { header_timeout_seconds: 10, request_timeout_seconds: 30, max_connections: 4096 }
    }
}

impl ConnectionLimits {
    fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds.max(1))
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds.max(1))
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting, lets each connection finish the request it is answering, and returns once all
/// have closed. Requests carry the peer's address as [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(middleware::from_fn_with_state(limits.request_timeout(), time_limit));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1) as usize));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => permit.expect("the connection semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let header_timeout = limits.header_timeout();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.wait_for(|stop| *stop) => {}
            }
            // Answer the request in progress, if any, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    stop.send_replace(true);
    // Every connection holds a slot until it closes: having them all back means all are done.
    let _all = slots.acquire_many(limits.max_connections.max(1)).await;
    Ok(())
}

/// Answers 503 to a request not answered within the limit (the handler is dropped).
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let error = ApiError::new(ErrorCode::Unavailable, "The request took too long. Please try again.");
            let mut response = ErrorResponse(error).into_response();
            response.headers_mut().insert(axum::http::header::CONNECTION, "close".parse().expect("a valid header"));
            response
        }
    }
}
