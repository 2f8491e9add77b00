//! The public API (`/api/v1`) with personal API keys, over real HTTP: what a key reads and
//! moves, its scopes, its wallet, its idempotency, revocation, expiry, its limit, and that the
//! session cookie and the key each work only where they belong.

use mongodb::bson::{DateTime, Document, doc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestPlatform, sol, text};

/// A script using the API with one key: no cookies.
struct Script {
    client: reqwest::Client,
    host: String,
    key: String,
}

impl Script {
    fn new(host: &str, key: &str) -> Script {
        Script { client: reqwest::Client::new(), host: host.to_owned(), key: key.to_owned() }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(format!("{}{path}", self.host)).bearer_auth(&self.key).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, idempotency_key: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.host)).bearer_auth(&self.key).json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

/// Makes a key as the logged-in `browser` does on the API keys page; returns the key.
async fn make_key(browser: &Browser, scopes: &str, expires: &str) -> String {
    let (status, created) = browser
        .call("create_api_key", &[("name", "my script"), ("scopes", scopes), ("expires_in_days", expires)])
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    text(&created["secret"])
}

fn balance_of(balances: &Value, token: &str) -> u64 {
    balances["balances"].as_array().unwrap().iter().find(|b| b["token"] == token).unwrap()["amount"].as_u64().unwrap()
}

#[tokio::test]
async fn a_key_reads_its_wallet_and_moves_money_only_within_its_scopes_once_per_idempotency_key() {
    let platform = TestPlatform::with_services().await;
    let (alice, alice_address) = platform.user("10").await;
    let (bob, bob_address) = platform.user("1").await;

    // A read key sees the wallet...
    let reader = Script::new(&platform.host, &make_key(&alice, "read", "30").await);
    let (status, balances) = reader.get("/api/v1/balances").await;
    assert_eq!(status, StatusCode::OK, "{balances}");
    assert_eq!(balances["wallet"], alice_address.as_str());
    assert_eq!(balance_of(&balances, "SOL"), sol("10").base_units());
    assert_eq!(balance_of(&balances, "USDC"), 0);
    let (status, portfolio) = reader.get("/api/v1/portfolio").await;
    assert_eq!(status, StatusCode::OK, "{portfolio}");
    assert_eq!(portfolio["holdings"][0]["token"], "SOL");
    assert_eq!(reader.get("/api/v1/prices").await.0, StatusCode::OK);
    let (status, candles) = reader.get("/api/v1/prices/SOL/candles?interval=1m").await;
    assert_eq!(status, StatusCode::OK, "{candles}");
    assert_eq!(reader.get("/api/v1/prices/DOGE/candles").await.0, StatusCode::BAD_REQUEST);
    // A parameter given empty is a mistake, not "absent" (found by the fuzzer).
    for path in [
        "/api/v1/portfolio/history?range=",
        "/api/v1/prices/SOL/candles?interval=",
        "/api/v1/activity?to=",
        "/api/v1/swaps?token=",
    ] {
        let (status, refused) = reader.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {refused}");
        assert!(text(&refused["message"]).contains("is empty"), "{refused}");
    }

    // ...and moves nothing: each money-moving request needs its own scope.
    let send = json!({ "to": bob_address, "token": "SOL", "amount": "1" });
    let (status, refused) = reader.post("/api/v1/transfers", Some("api-read-0001"), send.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], "forbidden");
    assert!(text(&refused["message"]).contains("\"transfer\" scope"), "{refused}");
    let quote_request = json!({ "from": "SOL", "to": "USDC", "amount": "1", "side": "exact_in", "slippage_bps": 500 });
    assert_eq!(reader.post("/api/v1/quotes", None, quote_request.clone()).await.0, StatusCode::FORBIDDEN);
    let stake_request = json!({ "validator": "aurora", "amount": "1" });
    assert_eq!(
        reader.post("/api/v1/stakes", Some("api-read-0002"), stake_request.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(platform.sol_balance(&bob_address).await, sol("1"));

    // A key that may transfer and trade.
    let trader = Script::new(&platform.host, &make_key(&alice, "read,transfer,trade", "").await);
    let (status, missing) = trader.post("/api/v1/transfers", None, send.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing}");
    assert!(text(&missing["message"]).contains("Idempotency-Key"), "{missing}");
    let (status, malformed) =
        trader.post("/api/v1/transfers", Some("api-transfer-0001"), json!({ "to": bob_address })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}");
    assert_eq!(malformed["code"], "invalid_input");
    assert_eq!(platform.sol_balance(&bob_address).await, sol("1"));

    let (status, sent) = trader.post("/api/v1/transfers", Some("api-transfer-0001"), send.clone()).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    // A retry with the same key answers with the same transfer and moves nothing more.
    let (status, again) = trader.post("/api/v1/transfers", Some("api-transfer-0001"), send.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["reference"], sent["reference"]);
    let other = json!({ "to": bob_address, "token": "SOL", "amount": "2" });
    let (status, conflict) = trader.post("/api/v1/transfers", Some("api-transfer-0001"), other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["code"], "idempotency_conflict");
    assert_eq!(platform.sol_balance(&bob_address).await, sol("2"));
    let transfer_reference = text(&sent["reference"]);
    let (status, receipt) = trader.get(&format!("/api/v1/transfers/{transfer_reference}")).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["amount"], sol("1").base_units());

    // A swap: quote, then execute with an idempotency key.
    let (status, quote) = trader.post("/api/v1/quotes", None, quote_request).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let (status, swap) = trader.post("/api/v1/swaps", Some("api-swap-0001"), json!({ "quote_id": quote["id"] })).await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    let swap_reference = text(&swap["reference"]);
    let (status, again) = trader.post("/api/v1/swaps", Some("api-swap-0001"), json!({ "quote_id": quote["id"] })).await;
    assert_eq!((status, &again["reference"]), (StatusCode::OK, &swap["reference"]));
    let (status, balances) = trader.get("/api/v1/balances").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(balance_of(&balances, "SOL"), sol("8").base_units());
    assert_eq!(balance_of(&balances, "USDC"), swap["amount_out"].as_u64().unwrap());
    assert_eq!(trader.get(&format!("/api/v1/swaps/{swap_reference}")).await.0, StatusCode::OK);
    let (status, page) = trader.get("/api/v1/activity?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let kinds: Vec<&str> = page["rows"].as_array().unwrap().iter().map(|row| row["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["swap", "sent"]);
    // Pages of up to 1,000 rows, as documented.
    let (status, page) = trader.get("/api/v1/activity?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(trader.get("/api/v1/activity?limit=1001").await.0, StatusCode::BAD_REQUEST);
    let (status, row) = trader.get(&format!("/api/v1/activity/{transfer_reference}")).await;
    assert_eq!((status, row["kind"].as_str()), (StatusCode::OK, Some("sent")));
    // Staking needs its own scope too.
    assert_eq!(
        trader.post("/api/v1/stakes", Some("api-stake-0001"), stake_request.clone()).await.0,
        StatusCode::FORBIDDEN
    );

    // Bob's key sees nothing of Alice's: her swap is not found, her balances are not his.
    let bobs = Script::new(&platform.host, &make_key(&bob, "read,stake", "90").await);
    assert_eq!(bobs.get(&format!("/api/v1/swaps/{swap_reference}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(bobs.get(&format!("/api/v1/activity/{swap_reference}")).await.0, StatusCode::NOT_FOUND);
    let (_, bob_balances) = bobs.get("/api/v1/balances").await;
    assert_eq!(bob_balances["wallet"], bob_address.as_str());
    assert_eq!(balance_of(&bob_balances, "SOL"), sol("2").base_units());
    // His stake key stakes his SOL, once per idempotency key.
    let (status, staked) = bobs.post("/api/v1/stakes", Some("api-stake-0001"), stake_request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{staked}");
    let (status, again) = bobs.post("/api/v1/stakes", Some("api-stake-0001"), stake_request).await;
    assert_eq!((status, &again["address"]), (StatusCode::OK, &staked["address"]));
    let account = text(&staked["address"]);
    assert_eq!(
        trader.post(&format!("/api/v1/stakes/{account}/unstake"), Some("api-uns-0001"), json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, unstaked) =
        bobs.post(&format!("/api/v1/stakes/{account}/unstake"), Some("api-uns-0001"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{unstaked}");
    assert_eq!(platform.sol_balance(&bob_address).await, sol("1"));

    platform.assert_books_balance().await;
}

#[tokio::test]
async fn revoked_expired_and_missing_keys_are_refused_and_neither_the_cookie_nor_the_key_works_where_the_other_does() {
    let platform = TestPlatform::with_services().await;
    let (alice, _) = platform.user("3").await;
    let key = make_key(&alice, "read", "30").await;
    let script = Script::new(&platform.host, &key);
    assert_eq!(script.get("/api/v1/portfolio").await.0, StatusCode::OK);

    // No key, a malformed one, a made-up one: 401 with the shared error body.
    let anonymous = reqwest::Client::new();
    let response = anonymous.get(format!("{}/api/v1/portfolio", platform.host)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert!(text(&body["message"]).contains("Authorization: Bearer"), "{body}");
    for made_up in ["nonsense", "sol_0123456789ab_notthesecret", &format!("{key}x")] {
        assert_eq!(Script::new(&platform.host, made_up).get("/api/v1/portfolio").await.0, StatusCode::UNAUTHORIZED);
    }

    // The session cookie is not a key: the logged-in browser gets 401 from the API.
    let response = alice.client.get(format!("{}/api/v1/portfolio", platform.host)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // And the key is not a session: the server functions do not take it.
    let response = anonymous
        .post(format!("{}/api/my_portfolio", platform.host))
        .bearer_auth(&key)
        .form(&[("", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The list shows the key, its last use, and never its secret; the database keeps only a hash.
    let (status, keys) = alice.call("my_api_keys", &[]).await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let listed = &keys.as_array().unwrap()[0];
    assert!(listed["last_used_at_ms"].as_i64().is_some(), "{listed}");
    assert!(!keys.to_string().contains(key.rsplit('_').next().unwrap()), "the list shows the secret: {keys}");
    let id = text(&listed["id"]);
    let stored: Document =
        platform.database.collection("api_keys").find_one(doc! { "_id": &id }).await.unwrap().unwrap();
    assert!(!format!("{stored:?}").contains(key.rsplit('_').next().unwrap()), "the secret is stored: {stored:?}");

    // Another wallet cannot revoke it; its owner can, and it is refused at once.
    let (mallory, _) = platform.user("1").await;
    assert_eq!(mallory.call("revoke_api_key", &[("id", &id)]).await.0, StatusCode::NOT_FOUND);
    assert_eq!(script.get("/api/v1/portfolio").await.0, StatusCode::OK);
    assert_eq!(alice.call("revoke_api_key", &[("id", &id)]).await.0, StatusCode::OK);
    let (status, refused) = script.get("/api/v1/portfolio").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");

    // An expired key is refused, and says so.
    let expiring = make_key(&alice, "read", "1").await;
    let expiring_id = expiring.split('_').nth(1).unwrap().to_owned();
    platform
        .database
        .collection::<Document>("api_keys")
        .update_one(
            doc! { "_id": &expiring_id },
            doc! { "$set": { "expires_at": DateTime::from_millis(DateTime::now().timestamp_millis() - 1) } },
        )
        .await
        .unwrap();
    let (status, expired) = Script::new(&platform.host, &expiring).get("/api/v1/portfolio").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{expired}");
    assert!(text(&expired["message"]).contains("expired"), "{expired}");
}

#[tokio::test]
async fn keys_are_made_only_with_a_name_a_scope_and_a_valid_expiry() {
    let platform = TestPlatform::with_services().await;
    let (alice, _) = platform.user("1").await;
    for (name, scopes, expires) in [
        ("", "read", "30"),
        ("script", "", "30"),
        ("script", "admin", "30"),
        ("script", "read", "0"),
        ("script", "read", "366"),
    ] {
        let (status, refused) =
            alice.call("create_api_key", &[("name", name), ("scopes", scopes), ("expires_in_days", expires)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?} {scopes:?} {expires:?}: {refused}");
    }
    let (_, keys) = alice.call("my_api_keys", &[]).await;
    assert_eq!(keys, json!([]));
    // Twenty keys at most: the 21st is refused until one is revoked.
    for _ in 0..20 {
        make_key(&alice, "read", "").await;
    }
    let form = [("name", "one too many"), ("scopes", "read"), ("expires_in_days", "")];
    let (status, refused) = alice.call("create_api_key", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(text(&refused["message"]).contains("Revoke one"), "{refused}");
    let (_, keys) = alice.call("my_api_keys", &[]).await;
    assert_eq!(keys.as_array().unwrap().len(), 20);
    assert_eq!(alice.call("revoke_api_key", &[("id", &text(&keys[0]["id"]))]).await.0, StatusCode::OK);
    assert_eq!(alice.call("create_api_key", &form).await.0, StatusCode::OK);
    // A visitor cannot make one.
    let visitor = platform.browser();
    let (status, _) =
        visitor.call("create_api_key", &[("name", "x"), ("scopes", "read"), ("expires_in_days", "")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_key_past_its_requests_for_the_minute_gets_429() {
    let platform = TestPlatform::with_services_and(|config| config.api_requests_per_minute = 3).await;
    let (alice, _) = platform.user("1").await;
    let script = Script::new(&platform.host, &make_key(&alice, "read", "30").await);
    // A minute boundary in between would start a new count: look for a refusal within 8
    // requests (two windows' worth and then some).
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(script.get("/api/v1/prices").await);
    }
    let refused = statuses.iter().find(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS);
    let (_, body) = refused.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert_eq!(body["code"], "rate_limited");
    // Another key of the same wallet has its own count.
    let other = Script::new(&platform.host, &make_key(&alice, "read", "30").await);
    assert_eq!(other.get("/api/v1/prices").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_document_and_its_swagger_ui_are_served_without_a_key() {
    let platform = TestPlatform::host_only(|_| {}).await;
    let client = reqwest::Client::new();
    let document: Value =
        client.get(format!("{}/api/v1/openapi.json", platform.host)).send().await.unwrap().json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    for path in
        ["/api/v1/portfolio", "/api/v1/swaps", "/api/v1/transfers", "/api/v1/stakes", "/api/v1/activity/{reference}"]
    {
        assert!(document["paths"].get(path).is_some(), "{path} is not documented");
    }
    let page = client.get(format!("{}/api/docs/", platform.host)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let initializer = client.get(format!("{}/api/docs/swagger-initializer.js", platform.host)).send().await.unwrap();
    assert_eq!(initializer.status(), StatusCode::OK);
    assert!(initializer.text().await.unwrap().contains("/api/v1/openapi.json"));
    // An unknown endpoint is a 404 with the shared body.
    let response = client.get(format!("{}/api/v1/nothing", platform.host)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "not_found");
}
