//! The service client against a real HTTP server: signing, retries, error mapping.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Extension, Json, Router, http::StatusCode, middleware, routing::post};
use serde_json::{Value, json};
use solstice_kit::{
    auth::{Caller, SigningKey, Verifier, require_signature},
    client::ServiceClient,
};
use solstice_types::{ErrorCode, WalletAddress};

const SEED: &str = "c11e47c11e47c11e47c11e47c11e47c11e47c11e47c11e47c11e47c11e47c11e";

fn key() -> SigningKey {
    SigningKey::from_hex("host", SEED).unwrap()
}

/// A service's check of the host's signatures, recording nonces in a fresh database of the
/// test server (`MONGODB_URI`, started by `scripts/test`).
async fn verifier() -> Verifier {
    let uri = std::env::var("MONGODB_URI").expect("MONGODB_URI is set: run the tests with scripts/test");
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let database = client.database(&format!("test_{:016x}", rand::random::<u64>()));
    Verifier::new(&key().trusted_entry(), &database).unwrap()
}

/// A service that is unavailable for its first `failures` calls, then echoes the signed caller
/// and body. Returns its base URL and a count of the calls it saw.
async fn flaky_service(failures: usize) -> (String, Arc<AtomicUsize>) {
    flaky_service_with(failures, verifier().await).await
}

/// [`flaky_service`] checking signatures with `verifier`; `/v1/echo` and `/v1/estimate` answer
/// alike.
async fn flaky_service_with(failures: usize, verifier: Verifier) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let echo = post(move |Extension(caller): Extension<Caller>, Json(body): Json<Value>| {
        let seen = seen.clone();
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) < failures {
                let error = json!({ "code": "unavailable", "message": "try again" });
                return (StatusCode::SERVICE_UNAVAILABLE, Json(error));
            }
            (StatusCode::OK, Json(json!({ "wallet": caller.wallet.to_string(), "body": body })))
        }
    });
    let router = Router::new()
        .route("/v1/echo", echo.clone())
        .route("/v1/estimate", echo)
        .layer(middleware::from_fn_with_state(verifier, require_signature));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, calls)
}

fn client(base: &str) -> ServiceClient {
    ServiceClient::new("test", base, key(), std::time::Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn an_unavailable_service_is_retried_with_the_same_signed_request() {
    let (base, calls) = flaky_service(2).await;
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let body = json!({ "idempotency_key": "same-key-every-time" });
    let answer: Value = client(&base).post("/v1/echo", &wallet, &body).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(answer["wallet"], wallet.to_string());
    assert_eq!(answer["body"], body);
}

#[tokio::test]
async fn retries_are_bounded_and_end_in_a_clear_unavailable_error() {
    let (base, calls) = flaky_service(usize::MAX).await;
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let error = client(&base).post::<_, Value>("/v1/echo", &wallet, &json!({})).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(error.code, ErrorCode::Unavailable);
}

#[tokio::test]
async fn a_wrong_secret_is_an_internal_error_not_the_users_fault() {
    let (base, _) = flaky_service(0).await;
    let wrong = ServiceClient::new(
        "test",
        &base,
        SigningKey::from_hex("host", &"ab".repeat(32)).unwrap(),
        std::time::Duration::from_secs(2),
    )
    .unwrap();
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let error = wrong.post::<_, Value>("/v1/echo", &wallet, &json!({})).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Internal);
}

/// A base URL nobody listens on: a replica that has died.
async fn dead_replica() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    base
}

#[tokio::test]
async fn calls_are_spread_over_every_replica() {
    let (first, first_calls) = flaky_service(0).await;
    let (second, second_calls) = flaky_service(0).await;
    let client = client(&format!("{first}, {second}/"));
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    for n in 0..10 {
        let _: Value = client.post("/v1/echo", &wallet, &json!({ "n": n })).await.unwrap();
    }
    assert_eq!(first_calls.load(Ordering::SeqCst), 5);
    assert_eq!(second_calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_dead_replica_is_retried_on_another() {
    let (alive, calls) = flaky_service(0).await;
    let client = client(&format!("{},{alive}", dead_replica().await));
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    for n in 0..6 {
        let answer: Value = client.post("/v1/echo", &wallet, &json!({ "n": n })).await.unwrap();
        assert_eq!(answer["body"]["n"], n, "every call is answered, by the live replica");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 6, "each call reached the live replica exactly once");
}

#[tokio::test]
async fn an_unavailable_replica_is_passed_over_while_it_cools_down() {
    let (healthy, healthy_calls) = flaky_service(0).await;
    let (sick, sick_calls) = flaky_service(usize::MAX).await;
    let client = client(&format!("{sick},{healthy}"));
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    for n in 0..10 {
        let _: Value = client.post("/v1/echo", &wallet, &json!({ "n": n })).await.unwrap();
    }
    assert_eq!(healthy_calls.load(Ordering::SeqCst), 10);
    // Round robin would have sent it every other call; after its first 503 it is left alone.
    assert_eq!(sick_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn when_every_replica_is_down_the_answer_is_unavailable() {
    let client = client(&format!("{},{}", dead_replica().await, dead_replica().await));
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let error = client.get::<Value>("/v1/echo", &[], &wallet).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable);
}

#[test]
fn a_service_url_list_must_hold_http_urls() {
    let secret = key;
    let timeout = std::time::Duration::from_secs(1);
    for bad in ["", " , ", "localhost:3102", "ftp://example.com", "http://a:1,not a url"] {
        assert!(ServiceClient::new("transfer", bad, secret(), timeout).is_err(), "{bad:?} was accepted");
    }
    assert!(ServiceClient::new("transfer", "http://a:1, https://b.example/ ,", secret(), timeout).is_ok());
}

#[tokio::test]
async fn a_replica_that_was_slow_once_is_not_passed_over() {
    // The first call to this replica outlasts the client's 2 s timeout; later ones are quick.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let router = Router::new()
        .route(
            "/v1/echo",
            post(move |Json(body): Json<Value>| {
                let seen = seen.clone();
                async move {
                    if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
                    }
                    Json(json!({ "body": body }))
                }
            }),
        )
        .layer(middleware::from_fn_with_state(verifier().await, require_signature));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (quick, _) = flaky_service(0).await;
    let client = client(&format!("{slow},{quick}"));
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    // The first call that reaches the slow replica times out and is answered by the other.
    while calls.load(Ordering::SeqCst) == 0 {
        let _: Value = client.post("/v1/echo", &wallet, &json!({})).await.unwrap();
    }
    for n in 0..10 {
        let _: Value = client.post("/v1/echo", &wallet, &json!({ "n": n })).await.unwrap();
    }
    // Slowness says more about the database than about the replica: it keeps its turn.
    assert!(calls.load(Ordering::SeqCst) >= 5, "the slow replica got {} calls", calls.load(Ordering::SeqCst));
}

/// Sends `headers` and `body` to `url` as a POST.
async fn post_signed(url: &str, headers: &[(&'static str, String); 5], body: &[u8]) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json").body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_signed_request_that_changes_something_is_accepted_once() {
    let (base, calls) = flaky_service(0).await;
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let body = br#"{"quote":"make me one"}"#;
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    let headers = solstice_kit::auth::sign(&key(), "POST", "/v1/echo", &wallet, now, body);
    let url = format!("{base}/v1/echo");
    assert_eq!(post_signed(&url, &headers, body).await.status(), StatusCode::OK);
    // The same bytes again, well within the time window: refused, and the handler never runs.
    let replayed = post_signed(&url, &headers, body).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let answer: Value = replayed.json().await.unwrap();
    assert_eq!(answer["message"], "This signed request was already used.");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Simultaneous copies: exactly one gets through.
    let headers = solstice_kit::auth::sign(&key(), "POST", "/v1/echo", &wallet, now, body);
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let (url, headers) = (url.clone(), headers.clone());
            tokio::spawn(async move { post_signed(&url, &headers, body).await.status() })
        })
        .collect();
    let mut accepted = 0;
    for copy in copies {
        accepted += usize::from(copy.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(accepted, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A `POST` declared effect-free (a swap quote) may be replayed: its nonce is not recorded.
/// Every other `POST` of the same service is still accepted once.
#[tokio::test]
async fn only_the_posts_declared_effect_free_may_be_replayed() {
    let (base, calls) = flaky_service_with(0, verifier().await.effect_free(&["/v1/estimate"])).await;
    let wallet = WalletAddress::from_public_key(&[7; 32]);
    let body = br#"{"sell":"SOL"}"#;
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    let headers = solstice_kit::auth::sign(&key(), "POST", "/v1/estimate", &wallet, now, body);
    for _ in 0..3 {
        assert_eq!(post_signed(&format!("{base}/v1/estimate"), &headers, body).await.status(), StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // The signature still covers the path and its age still counts.
    let elsewhere = post_signed(&format!("{base}/v1/echo"), &headers, body).await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
    let old = solstice_kit::auth::sign(&key(), "POST", "/v1/estimate", &wallet, now - 120_000, body);
    assert_eq!(post_signed(&format!("{base}/v1/estimate"), &old, body).await.status(), StatusCode::UNAUTHORIZED);
    // Another path of the same service is accepted once.
    let headers = solstice_kit::auth::sign(&key(), "POST", "/v1/echo", &wallet, now, body);
    assert_eq!(post_signed(&format!("{base}/v1/echo"), &headers, body).await.status(), StatusCode::OK);
    assert_eq!(post_signed(&format!("{base}/v1/echo"), &headers, body).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

/// Nonces of requests arriving together are recorded together: in a burst of different
/// requests, each sent twice at once, every request gets through exactly once.
#[tokio::test]
async fn in_a_burst_each_signed_request_is_accepted_once() {
    let (base, calls) = flaky_service(0).await;
    let wallet = WalletAddress::from_public_key(&[6; 32]);
    let url = format!("{base}/v1/echo");
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    let copies: Vec<_> = (0..40)
        .flat_map(|n| {
            let body = format!(r#"{{"n":{n}}}"#).into_bytes();
            let headers = solstice_kit::auth::sign(&key(), "POST", "/v1/echo", &wallet, now, &body);
            [(headers.clone(), body.clone()), (headers, body)]
        })
        .map(|(headers, body)| {
            let url = url.clone();
            tokio::spawn(async move { post_signed(&url, &headers, &body).await.status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for copy in copies {
        statuses.push(copy.await.unwrap());
    }
    for pair in statuses.chunks(2) {
        let mut pair = pair.to_vec();
        pair.sort();
        assert_eq!(pair, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 40);
}

/// A signed request goes where it was meant to go: a redirect (a misconfigured proxy, a
/// compromised replica) is not followed, and the call fails as the platform's fault.
#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (elsewhere, calls) = flaky_service(0).await;
    let target = format!("{elsewhere}/v1/echo");
    let router = Router::new().route(
        "/v1/echo",
        post(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let wallet = WalletAddress::from_public_key(&[8; 32]);
    let error = client(&redirecting).post::<_, Value>("/v1/echo", &wallet, &json!({})).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Internal);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the redirect's target was never called");
}

#[tokio::test]
async fn what_a_service_holds_cannot_sign_for_the_host() {
    // A service is configured with the host's public key only. Neither that key used as a
    // signing key, nor another caller's key under the host's name, is accepted.
    let (base, calls) = flaky_service(0).await;
    let wallet = WalletAddress::from_public_key(&[5; 32]);
    let public = key().public_key_hex();
    for forged in
        [SigningKey::from_hex("host", &public).unwrap(), SigningKey::from_hex("host", &"cd".repeat(32)).unwrap()]
    {
        let client = ServiceClient::new("test", &base, forged, std::time::Duration::from_secs(2)).unwrap();
        let error = client.post::<_, Value>("/v1/echo", &wallet, &json!({})).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal, "a refused signature is the platform's fault, not the user's");
    }
    // An unknown caller name is refused too.
    let stranger = SigningKey::from_hex("portfolio", SEED).unwrap();
    let client = ServiceClient::new("test", &base, stranger, std::time::Duration::from_secs(2)).unwrap();
    assert!(client.post::<_, Value>("/v1/echo", &wallet, &json!({})).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
