//! A service's time and connection limits, over real sockets: slow clients are disconnected,
//! slow requests answered, and connections past the cap wait their turn.

use std::time::{Duration, Instant};

use axum::{Router, routing::get};
use futures::StreamExt;
use reqwest::StatusCode;
use solstice_kit::{serve::ConnectionLimits, start::CommonConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A service with the given limits; its address and the handle of its `run_until_stopped`,
/// which ends once `stop` is sent.
async fn start_stoppable(
    limits: ConnectionLimits,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }),
        )
        // A streamed answer whose parts come 600 ms apart, and one that stalls after its first.
        .route("/trickle", get(|| async { streamed(&[600, 600, 600]) }))
        .route("/stalls", get(|| async { streamed(&[0, 3_600_000]) }))
        // Far more than the socket buffers hold: a client that does not read stalls its writing.
        .route("/big", get(|| async { vec![b'x'; 64 * 1024 * 1024] }));
    let mut common = CommonConfig::for_tests("mongodb://unused".to_owned(), "unused".to_owned());
    common.limits = limits;
    let service = common.bind("127.0.0.1:0".parse().unwrap(), router).await.unwrap();
    let addr = service.local_addr().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(service.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// A streamed answer: a part after each of `gaps_ms`.
fn streamed(gaps_ms: &'static [u64]) -> axum::body::Body {
    axum::body::Body::from_stream(futures::stream::iter(gaps_ms).then(|gap| async move {
        tokio::time::sleep(Duration::from_millis(*gap)).await;
        Ok::<_, std::io::Error>(format!("part after {gap} ms\n"))
    }))
}

async fn start(limits: ConnectionLimits) -> String {
    let (addr, stop, _server) = start_stoppable(limits).await;
    // Never stopped: the test's runtime ends it.
    std::mem::forget(stop);
    addr
}

/// A client that asks for a large answer and never reads it.
async fn stuck_reader(addr: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    socket
}

/// Reads until the server closes the connection; how long that took.
async fn time_until_closed(socket: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), socket.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    // The default limits, as deployed.
    let addr = start(ConnectionLimits::default()).await;
    let mut slow_loris = TcpStream::connect(&addr).await.unwrap();
    slow_loris.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // Keep trickling bytes: each one is not enough to finish the headers.
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            if slow_loris.write_all(b"a").await.is_err() {
                return Some(slow_loris);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Some(slow_loris)
    });
    let closed = time_until_closed(&mut silent, Duration::from_secs(30)).await;
    assert!(closed.is_some(), "a connection that sends nothing is closed within 30 s");
    let mut slow_loris = trickle.await.unwrap().unwrap();
    let closed = time_until_closed(&mut slow_loris, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "a connection trickling partial headers is closed within 30 s");
    // Meanwhile a normal client is answered.
    let answer = reqwest::get(format!("http://{addr}/hello")).await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello");
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_a_clear_error() {
    let addr = start(ConnectionLimits { request_timeout_seconds: 1, ..ConnectionLimits::default() }).await;
    let answer = reqwest::get(format!("http://{addr}/slow")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["message"], "The request took too long. Please try again.");
}

#[tokio::test]
async fn a_streamed_answer_that_stalls_is_cut_off_and_one_that_flows_is_not() {
    let addr = start(ConnectionLimits { request_timeout_seconds: 1, ..ConnectionLimits::default() }).await;
    // Parts keep coming, each within the limit: the whole answer arrives, though it takes
    // longer than the limit.
    let started = Instant::now();
    let answer = reqwest::get(format!("http://{addr}/trickle")).await.unwrap().text().await.unwrap();
    assert_eq!(answer.lines().count(), 3, "{answer}");
    assert!(started.elapsed() > Duration::from_secs(1));

    // The first part comes, then nothing: the client is not left waiting.
    let mut answer = reqwest::get(format!("http://{addr}/stalls")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.chunk().await.unwrap().unwrap(), "part after 0 ms\n");
    let rest = tokio::time::timeout(Duration::from_secs(10), answer.chunk()).await;
    assert!(rest.expect("the stalled answer is cut off within its limit").is_err(), "it ends as incomplete");
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let addr = start(ConnectionLimits { max_connections: 2, ..ConnectionLimits::default() }).await;
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    let waiting = tokio::spawn({
        let addr = addr.clone();
        async move { reqwest::get(format!("http://{addr}/hello")).await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a third connection is not served while two are open");
    drop(first);
    drop(second);
    let answer = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("served once a slot frees");
    assert_eq!(answer.unwrap(), "hello");
}

#[tokio::test]
async fn a_client_that_stops_reading_loses_its_connection_and_cannot_stop_a_shutdown() {
    let limits = ConnectionLimits { request_timeout_seconds: 1, max_connections: 1, ..ConnectionLimits::default() };
    let (addr, stop, server) = start_stoppable(limits).await;
    let _stuck = stuck_reader(&addr).await;
    // The only slot is freed once its writes have waited a second: the next client is served.
    let answer = tokio::time::timeout(Duration::from_secs(10), reqwest::get(format!("http://{addr}/hello")))
        .await
        .expect("served once the stuck reader is cut off")
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello");

    // Another stuck reader does not hold up a shutdown.
    let _stuck = stuck_reader(&addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("the service stops").unwrap().unwrap();
}
