//! Test support shared by the integration tests of every crate.
//!
//! The test command (`scripts/test`) starts one MongoDB-compatible server for the whole run
//! and exports `MONGODB_URI`; each test takes a database of its own on it, so tests run in
//! parallel and in any order without seeing each other's data.

use mongodb::{Client, Database};
use rand::Rng;

/// The URI of the test database server, or a panic that says how to get one.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set. Run the tests with `scripts/test`, which starts a database server for them.")
    })
}

/// A client for the test server and a new, empty database that only the calling test uses.
pub async fn fresh_database() -> (Client, Database) {
    let client = Client::with_uri_str(mongodb_uri()).await.expect("the test database server is reachable");
    let name = format!("test_{:016x}", rand::thread_rng().r#gen::<u64>());
    let database = client.database(&name);
    (client, database)
}

/// The signing key of the tests' host, which the tests' services trust (`Config::for_tests`).
pub fn host_key() -> solstice_kit::auth::SigningKey {
    solstice_kit::start::test_signing_key()
}

/// Calls a service as the host would for `wallet`: signed with [`host_key`]. Returns the status
/// and the JSON body (`Null` when there is none).
pub async fn signed(
    method: &str,
    url: &str,
    wallet: &solstice_types::WalletAddress,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let bytes = body.map(|body| serde_json::to_vec(&body).unwrap()).unwrap_or_default();
    let json = !bytes.is_empty();
    signed_raw(method, url, wallet, &bytes, json).await
}

/// A signed `POST` of `body` to `url`, sent again (newly signed, the same body and so the same
/// idempotency key) while the service answers 503, busy, as the host does: up to 5 times.
pub async fn signed_retrying_busy(
    url: &str,
    wallet: &solstice_types::WalletAddress,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut answer = signed("POST", url, wallet, Some(body.clone())).await;
    for _ in 0..4 {
        if answer.0 != reqwest::StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        answer = signed("POST", url, wallet, Some(body.clone())).await;
    }
    answer
}

/// Like [`signed`], with any bytes as the body (malformed ones too), labelled as JSON when
/// `json` is set.
pub async fn signed_raw(
    method: &str,
    url: &str,
    wallet: &solstice_types::WalletAddress,
    body: &[u8],
    json: bool,
) -> (reqwest::StatusCode, serde_json::Value) {
    let headers = host_signature(method, url, wallet, body);
    send(method, url, &headers, body, json).await
}

/// The headers with which the host signs `method url` with `body` for `wallet`, now: sent
/// with [`send`], as often as a test means to replay them.
pub fn host_signature(
    method: &str,
    url: &str,
    wallet: &solstice_types::WalletAddress,
    body: &[u8],
) -> [(&'static str, String); 5] {
    let parsed = reqwest::Url::parse(url).unwrap();
    let path = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    solstice_kit::auth::sign(&host_key(), method, &path, wallet, now_ms, body)
}

/// Sends `method url` with exactly the given headers and body (labelled as JSON when `json` is
/// set), signed or not. Returns the status and the JSON body (`Null` when there is none).
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    json: bool,
) -> (reqwest::StatusCode, serde_json::Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    if json {
        request = request.header("content-type", "application/json");
    }
    if !body.is_empty() {
        request = request.body(body.to_vec());
    }
    let response = request.send().await.expect("the service answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// A new platform user (as sign-up leaves it: an account document and a balance) holding
/// `amounts` (token, base units), paid from the faucet and the treasury.
pub async fn new_user(
    database: &Database,
    ledger: &solstice_ledger::Ledger,
    amounts: &[(solstice_types::Token, u64)],
) -> solstice_types::WalletAddress {
    use solstice_ledger::{AccountId, IdempotencyKey, Leg, SystemAccount, TransactionRequest};
    use solstice_types::{Amount, ReferenceKind, Token};
    let wallet = solstice_types::WalletAddress::from_public_key(&rand::random::<[u8; 32]>());
    let user = solstice_accounts::UserDoc::new(&wallet, "-".to_owned());
    database.collection(solstice_accounts::USERS).insert_one(user).await.unwrap();
    let legs: Vec<Leg> = amounts
        .iter()
        .map(|(token, units)| Leg {
            from: AccountId::System(if *token == Token::Sol { SystemAccount::Faucet } else { SystemAccount::Treasury }),
            to: AccountId::wallet(&wallet),
            token: *token,
            amount: Amount::from_base_units(*units).unwrap(),
        })
        .collect();
    if !legs.is_empty() {
        let key = IdempotencyKey::new(format!("test-funding:{wallet}")).unwrap();
        ledger.apply(TransactionRequest::new(ReferenceKind::Airdrop, key, legs)).await.unwrap();
    }
    wallet
}

/// Every token's books balance and no balance is negative.
pub async fn assert_books_balance(ledger: &solstice_ledger::Ledger) {
    for audit in ledger.audit().await.unwrap() {
        assert!(audit.is_sound(), "{audit:?}");
    }
}
