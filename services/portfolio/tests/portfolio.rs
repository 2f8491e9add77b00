//! The portfolio service over real HTTP, against a real database.

use mongodb::{
    Database,
    bson::{Document, doc},
};
use reqwest::StatusCode;
use solstice_kit::auth::{SigningKey, sign};
use solstice_ledger::{AccountId, IdempotencyKey, Ledger, Leg, SystemAccount, TransactionRequest};
use solstice_market::{MarketKind, MarketTick, TickPrice, store::MarketStore};
use solstice_portfolio::Config;
use solstice_types::{Amount, ReferenceKind, Token, UsdPrice, WalletAddress, portfolio::Portfolio};

struct TestService {
    base: String,
    database: Database,
    ledger: Ledger,
}

async fn spawn_service() -> TestService {
    let (client, database) = solstice_testkit::fresh_database().await;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.unwrap();
    // One tick, as the market recorder writes it: every token at a fixed price.
    let tick = MarketTick {
        seq: 1,
        term: 1,
        at_ms: mongodb::bson::DateTime::now().timestamp_millis(),
        market: MarketKind::Simulated,
        prices: Token::ALL
            .into_iter()
            .map(|token| TickPrice {
                token,
                price: UsdPrice::from_picodollars(if token == Token::Sol {
                    150_000_000_000_000
                } else {
                    1_000_000_000_000
                }),
                open_24h: None,
                suspect: false,
                sources: vec!["test".into()],
            })
            .collect(),
    };
    MarketStore::new(&database).write_tick(&tick).await.unwrap();
    let config = Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    let app = solstice_portfolio::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // Long enough for the service to have read the tick.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    TestService { base, database, ledger }
}

fn wallet(n: u8) -> WalletAddress {
    WalletAddress::from_public_key(&[n; 32])
}

async fn fund(service: &TestService, to: &WalletAddress, token: Token, amount: &str) {
    let leg = Leg {
        from: AccountId::System(if token == Token::Sol { SystemAccount::Faucet } else { SystemAccount::Treasury }),
        to: AccountId::wallet(to),
        token,
        amount: Amount::parse(amount, token.decimals()).unwrap(),
    };
    let key = IdempotencyKey::new(format!("fund:{to}:{token}")).unwrap();
    service.ledger.apply(TransactionRequest::new(ReferenceKind::Transfer, key, vec![leg])).await.unwrap();
}

async fn get_signed(
    service: &TestService,
    as_wallet: &WalletAddress,
    key: SigningKey,
    skew_ms: i64,
) -> reqwest::Response {
    let now = mongodb::bson::DateTime::now().timestamp_millis() + skew_ms;
    let mut request = reqwest::Client::new().get(format!("{}/v1/portfolio", service.base));
    for (name, value) in sign(&key, "GET", "/v1/portfolio", as_wallet, now, b"") {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

/// Every document of every collection, to prove nothing changed.
async fn snapshot(database: &Database) -> Vec<(String, Vec<Document>)> {
    let mut names = database.list_collection_names().await.unwrap();
    names.sort();
    let mut all = Vec::new();
    for name in names {
        let mut cursor = database.collection::<Document>(&name).find(doc! {}).sort(doc! { "_id": 1 }).await.unwrap();
        let mut docs = Vec::new();
        while cursor.advance().await.unwrap() {
            docs.push(cursor.deserialize_current().unwrap());
        }
        all.push((name, docs));
    }
    all
}

#[tokio::test]
async fn a_wallet_sees_its_holdings_valued_at_live_prices() {
    let service = spawn_service().await;
    let alice = wallet(1);
    fund(&service, &alice, Token::Sol, "2.5").await;
    fund(&service, &alice, Token::Usdc, "1000").await;
    fund(&service, &wallet(2), Token::Jup, "5").await;

    let response = get_signed(&service, &alice, solstice_testkit::host_key(), 0).await;
    assert_eq!(response.status(), StatusCode::OK);
    let portfolio: Portfolio = response.json().await.unwrap();
    assert_eq!(portfolio.wallet, alice);
    let tokens: Vec<Token> = portfolio.holdings.iter().map(|h| h.token).collect();
    assert_eq!(tokens.len(), 2, "only Alice's own tokens: {tokens:?}");
    assert!(tokens.contains(&Token::Sol) && tokens.contains(&Token::Usdc));
    let sol = portfolio.holdings.iter().find(|h| h.token == Token::Sol).unwrap();
    assert_eq!(sol.amount, Amount::parse("2.5", 9).unwrap());
    assert_eq!(sol.value, sol.price.value_of(sol.amount, 9));
    let total: u128 = portfolio.holdings.iter().map(|h| h.value.picodollars()).sum();
    assert_eq!(portfolio.total_value.picodollars(), total);
    let shares: u32 = portfolio.holdings.iter().map(|h| h.share_bps).sum();
    assert!((9_998..=10_000).contains(&shares), "shares add up to 100%: {shares}");
    assert!(portfolio.holdings.windows(2).all(|w| w[0].value >= w[1].value), "largest first");
}

#[tokio::test]
async fn requests_without_valid_service_credentials_are_refused() {
    let service = spawn_service().await;
    let alice = wallet(1);
    fund(&service, &alice, Token::Sol, "1").await;
    let unsigned = reqwest::Client::new().get(format!("{}/v1/portfolio", service.base)).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    let wrong_key = SigningKey::from_hex("host", &"ab".repeat(32)).unwrap();
    let wrong_secret = get_signed(&service, &alice, wrong_key, 0).await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    let replayed_later = get_signed(&service, &alice, solstice_testkit::host_key(), -120_000).await;
    assert_eq!(replayed_later.status(), StatusCode::UNAUTHORIZED);

    // A signature for one wallet does not work for another.
    let secret = solstice_testkit::host_key();
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    let mut request = reqwest::Client::new().get(format!("{}/v1/portfolio", service.base));
    for (name, value) in sign(&secret, "GET", "/v1/portfolio", &wallet(2), now, b"") {
        let value = if name == "x-solstice-wallet" { alice.to_string() } else { value };
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_service_never_writes_to_the_database() {
    let service = spawn_service().await;
    let alice = wallet(1);
    fund(&service, &alice, Token::Sol, "1").await;
    let before = snapshot(&service.database).await;
    for _ in 0..5 {
        assert_eq!(get_signed(&service, &alice, solstice_testkit::host_key(), 0).await.status(), StatusCode::OK);
        assert_eq!(get_signed(&service, &wallet(9), solstice_testkit::host_key(), 0).await.status(), StatusCode::OK);
    }
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        assert_eq!(
            http.get(format!("{}{path}", service.base)).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(snapshot(&service.database).await, before);
}

#[tokio::test]
async fn probes_metrics_and_api_docs_are_served_by_the_service_itself() {
    let service = spawn_service().await;
    let http = reqwest::Client::new();
    assert_eq!(get_signed(&service, &wallet(1), solstice_testkit::host_key(), 0).await.status(), StatusCode::OK);
    let spec: serde_json::Value =
        http.get(format!("{}/openapi.json", service.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/v1/portfolio"]["get"]["responses"]["200"].is_object());
    let docs = http.get(format!("{}/docs", service.base)).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/openapi.json") && !docs.contains("https://"), "the docs page loads nothing from elsewhere");
    let metrics = http.get(format!("{}/metrics", service.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics
            .contains(r#"http_requests_total{service="portfolio",method="GET",route="/v1/portfolio",status="200"} 1"#),
        "{metrics}"
    );
    assert_eq!(http.get(format!("{}/readyz", service.base)).send().await.unwrap().status(), StatusCode::OK);
}
