//! Graceful shutdown of a service, over real HTTP: not ready first, requests in flight
//! finished, then no new connections.

use std::time::Duration;

use axum::{Router, routing::get};
use reqwest::StatusCode;
use solstice_kit::start::CommonConfig;

#[tokio::test]
async fn a_stopping_service_reports_not_ready_finishes_in_flight_requests_then_refuses_connections() {
    let router = Router::new().route("/readyz", get(|| async { "ready" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            "finished"
        }),
    );
    let mut common = CommonConfig::for_tests("mongodb://unused".to_owned(), "unused".to_owned());
    common.shutdown_delay_seconds = 1;
    let service = common.bind("127.0.0.1:0".parse().unwrap(), router).await.unwrap();
    let base = format!("http://{}", service.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(service.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{base}/readyz")).send().await.unwrap().status(), StatusCode::OK);

    let in_flight = tokio::spawn({
        let (http, base) = (http.clone(), base.clone());
        async move { http.get(format!("{base}/slow")).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // During the delay: not ready, but still serving whatever is routed here.
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.text().await.unwrap(), "shutting down");

    assert_eq!(in_flight.await.unwrap(), "finished", "the request in flight is answered");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the service stops").unwrap().unwrap();
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{base}/readyz")).send().await.is_err(), "no new connections after stopping");
}
