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
//! - a **write-stall timeout**: a client that stops reading an answer (so that nothing more
//!   can be written to it) for as long as the request timeout is disconnected, so that it
//!   cannot hold its place forever;
//! - a place under a **connection cap**: past it, new connections wait in the kernel's listen
//!   queue until one closes, instead of each costing memory and a file descriptor.
//!
//! On shutdown each connection finishes the request it is answering, within the request
//! timeout; then it is closed regardless.
//!
//! Upgraded connections (websockets) leave hyper once upgraded: they are bounded by the
//! websocket's own limits (see the host's `ws` module), and do not count against the cap.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, HttpBody},
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
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
    time::Sleep,
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
        let request_timeout = limits.request_timeout();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let stream = StallGuard::new(stream, request_timeout);
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
            // Answer the request in progress, if any, then close; within the request timeout.
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(request_timeout, connection).await;
        });
    }
    drop(listener);
    stop.send_replace(true);
    // Every connection holds a slot until it closes: having them all back means all are done.
    // Each is bounded by the request timeout; the margin covers the last writes.
    let all = slots.acquire_many(limits.max_connections.max(1));
    if tokio::time::timeout(limits.request_timeout() + Duration::from_secs(1), all).await.is_err() {
        tracing::warn!("connections still open at shutdown were dropped");
    }
    Ok(())
}

/// A connection whose writes fail once one has waited `limit` for the client to read.
struct StallGuard {
    stream: TcpStream,
    limit: Duration,
    /// Set while a write is waiting for the client.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(stream: TcpStream, limit: Duration) -> StallGuard {
        StallGuard { stream, limit, stalled: None }
    }

    /// Whether a write that the socket cannot take yet has waited too long; arms the timer.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))
    }

    fn written<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_stalled(cx).map(Err),
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.written(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.written(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.written(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.written(cx, result)
    }
}

/// Answers 503 to a request not answered within the limit (the handler is dropped), and cuts
/// off an answer streamed as it is made (a page rendered as its data arrives) whose next part
/// does not come within the limit.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        // An answer of known length is already made: only a stream can stall.
        Ok(response) if response.body().size_hint().exact().is_some() => response,
        Ok(response) => response.map(|body| Body::from_stream(stall_limited(body.into_data_stream(), limit))),
        Err(_) => {
            let error = ApiError::new(ErrorCode::Unavailable, "The request took too long. Please try again.");
            let mut response = ErrorResponse(error).into_response();
            response.headers_mut().insert(axum::http::header::CONNECTION, "close".parse().expect("a valid header"));
            response
        }
    }
}

/// `stream`, ended with an error once its next part has not come within `limit`: the server
/// then drops the connection, so the client sees an incomplete answer (and may retry) instead
/// of waiting forever, and the connection's place and the task producing the stream are
/// freed.
fn stall_limited(
    stream: axum::body::BodyDataStream,
    limit: Duration,
) -> impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Send + 'static {
    futures::stream::unfold(Some(stream), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(limit, futures::StreamExt::next(&mut stream)).await {
            Ok(Some(part)) => Some((part, Some(stream))),
            Ok(None) => None,
            Err(_) => {
                tracing::warn!(limit_seconds = limit.as_secs(), "an answer stalled mid-stream and was cut off");
                let stalled = io::Error::new(io::ErrorKind::TimedOut, "the answer stalled");
                Some((Err(axum::Error::new(stalled)), None))
            }
        }
    })
}
