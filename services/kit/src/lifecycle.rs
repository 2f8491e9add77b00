//! Stopping gracefully.
//!
//! When Kubernetes stops a pod it sends SIGTERM and, at about the same time, starts taking the
//! pod out of its Service's endpoints — but the two are not ordered, and proxies and other
//! replicas' connection pools learn of it a little later. So on SIGTERM a process:
//! 1. starts *draining*: `/readyz` answers 503 "shutting down", and background work (such as
//!    paying staking rewards) stops taking new items;
//! 2. keeps serving for the shutdown delay (`SOLSTICE_SHUTDOWN_DELAY_SECONDS`), so that requests
//!    still routed to it succeed while everyone notices it is going;
//! 3. stops accepting connections and finishes the requests in flight, then exits.

use std::{future::Future, time::Duration};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::watch;

/// Whether this process has been asked to stop. Cloning gives another handle on the same state.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    draining: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle::new()
    }
}

impl Lifecycle {
    pub fn new() -> Lifecycle {
        Lifecycle { draining: watch::Sender::new(false) }
    }

    /// Starts draining. Idempotent.
    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Completes once draining has started: background loops select on it to stop between
    /// items, never in the middle of one.
    pub fn draining(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.draining.subscribe();
        async move {
            // An error means every sender is gone: nobody can ask to drain any more, so wait
            // forever rather than stop.
            if receiver.wait_for(|draining| *draining).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The future `axum::serve(..).with_graceful_shutdown` waits on: once `signal` completes,
    /// drain, keep serving for `delay`, then let the server stop accepting and finish what it
    /// has.
    pub fn shutdown_after(
        &self,
        signal: impl Future<Output = ()> + Send + 'static,
        delay: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let lifecycle = self.clone();
        async move {
            signal.await;
            lifecycle.drain();
            tracing::info!(delay_ms = delay.as_millis() as u64, "shutting down: reporting not ready");
            tokio::time::sleep(delay).await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
        }
    }
}

/// Middleware that makes `/readyz` answer 503 while draining, whatever the database says, so
/// that load balancers stop sending new work here.
pub async fn readiness_gate(State(lifecycle): State<Lifecycle>, request: Request, next: Next) -> Response {
    if lifecycle.is_draining() && request.uri().path() == "/readyz" {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_wakes_every_waiter_and_stays_set() {
        let lifecycle = Lifecycle::new();
        assert!(!lifecycle.is_draining());
        let waiter = tokio::spawn(lifecycle.draining());
        let other = lifecycle.clone();
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        other.drain();
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").expect("no panic");
        assert!(lifecycle.is_draining());
        // A waiter that starts after draining began completes at once.
        tokio::time::timeout(Duration::from_secs(5), lifecycle.draining()).await.expect("already draining");
    }
}
