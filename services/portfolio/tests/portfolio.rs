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
use solstice_types::{
    Amount, ReferenceKind, Token, UsdPrice, WalletAddress,
    activity::{ActivityKind, ActivityPage, ActivityRow, TokenAmount},
    portfolio::Portfolio,
};

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
    // Swagger UI, from the service itself: its page loads nothing from elsewhere and its
    // initializer reads the service's own document.
    let docs = http.get(format!("{}/docs", service.base)).send().await.unwrap();
    assert!(docs.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let docs = docs.text().await.unwrap();
    assert!(docs.contains("swagger-ui") && !docs.contains("https://"), "the docs page loads nothing from elsewhere");
    let initializer =
        http.get(format!("{}/docs/swagger-initializer.js", service.base)).send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    let metrics = http.get(format!("{}/metrics", service.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics
            .contains(r#"http_requests_total{service="portfolio",method="GET",route="/v1/portfolio",status="200"} 1"#),
        "{metrics}"
    );
    assert_eq!(http.get(format!("{}/readyz", service.base)).send().await.unwrap().status(), StatusCode::OK);
}

/// `GET path` signed for `as_wallet` by the host.
async fn get_as(service: &TestService, as_wallet: &WalletAddress, path: &str) -> reqwest::Response {
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    let mut request = reqwest::Client::new().get(format!("{}{path}", service.base));
    for (name, value) in sign(&solstice_testkit::host_key(), "GET", path, as_wallet, now, b"") {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

/// Applies one ledger transaction of `kind` with `details`; returns its reference.
async fn apply(service: &TestService, kind: ReferenceKind, legs: Vec<Leg>, details: Document) -> String {
    let key = IdempotencyKey::new(format!("test:{}", rand_key())).unwrap();
    let receipt = service.ledger.apply(TransactionRequest::new(kind, key, legs).with_details(details)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    receipt.reference.to_string()
}

fn rand_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn leg(from: AccountId, to: AccountId, token: Token, amount: &str) -> Leg {
    Leg { from, to, token, amount: Amount::parse(amount, token.decimals()).unwrap() }
}

/// Every row of `wallet`'s activity under `query`, page by page (`limit` a page).
async fn all_rows(service: &TestService, wallet: &WalletAddress, query: &str, limit: u32) -> Vec<ActivityRow> {
    let mut rows = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let cursor = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
        let response = get_as(service, wallet, &format!("/v1/activity?limit={limit}{query}{cursor}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: ActivityPage = response.json().await.unwrap();
        assert!(page.rows.len() <= limit as usize);
        rows.extend(page.rows);
        match page.next_before {
            Some(next) => before = Some(next.to_string()),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn the_activity_lists_every_movement_once_newest_first_and_sums_to_the_balances() {
    let service = spawn_service().await;
    let (alice, bob) = (wallet(1), wallet(2));
    let (a, b) = (AccountId::wallet(&alice), AccountId::wallet(&bob));
    let system = AccountId::System;
    let pool = system(SystemAccount::StakePool);
    let airdrop = apply(
        &service,
        ReferenceKind::Airdrop,
        vec![leg(system(SystemAccount::Faucet), a.clone(), Token::Sol, "10")],
        doc! {},
    )
    .await;
    apply(
        &service,
        ReferenceKind::Airdrop,
        vec![leg(system(SystemAccount::Faucet), b.clone(), Token::Sol, "10")],
        doc! {},
    )
    .await;
    let sent = apply(
        &service,
        ReferenceKind::Transfer,
        vec![leg(a.clone(), b.clone(), Token::Sol, "1.5")],
        doc! { "memo": "rent" },
    )
    .await;
    let received =
        apply(&service, ReferenceKind::Transfer, vec![leg(b.clone(), a.clone(), Token::Sol, "0.25")], doc! {}).await;
    let treasury = system(SystemAccount::Treasury);
    let swap_details = doc! {
        "quote_id": "q1", "side": "ExactIn", "from": "SOL", "to": "USDC", "amount_in": 2_000_000_000i64,
        "amount_out": 299_000_000i64, "fee": 1_000_000i64, "fee_bps": 30, "price_impact_bps": 0, "slippage_bps": 50,
        "quoted_price_in": 150_000_000_000_000i64, "quoted_price_out": 1_000_000_000_000i64,
        "price_in": 150_000_000_000_000i64, "price_out": 1_000_000_000_000i64,
    };
    let swap = apply(
        &service,
        ReferenceKind::Swap,
        vec![
            leg(a.clone(), treasury.clone(), Token::Sol, "2"),
            leg(treasury.clone(), a.clone(), Token::Usdc, "299"),
            leg(treasury, system(SystemAccount::Fees), Token::Usdc, "1"),
        ],
        swap_details,
    )
    .await;
    let stake_account = "StakeAcct1111111111111111111111111111111111".to_owned();
    let stake = apply(
        &service,
        ReferenceKind::Stake,
        vec![leg(a.clone(), pool.clone(), Token::Sol, "3")],
        doc! { "action": "stake", "stake_account": &stake_account, "validator": "v1" },
    )
    .await;
    let reward = apply(
        &service,
        ReferenceKind::Stake,
        vec![leg(system(SystemAccount::StakeRewards), pool.clone(), Token::Sol, "0.01")],
        doc! { "action": "reward", "stake_account": &stake_account, "epoch": 7i64 },
    )
    .await;
    // Bob's reward, into the same pool: never Alice's.
    apply(
        &service,
        ReferenceKind::Stake,
        vec![leg(system(SystemAccount::StakeRewards), pool.clone(), Token::Sol, "0.02")],
        doc! { "action": "reward", "stake_account": "BobsStake", "epoch": 7i64 },
    )
    .await;
    // The unstake, as the stake service records it on the account.
    let unstaked_at = mongodb::bson::DateTime::now().timestamp_millis();
    let unstake = solstice_types::Reference::new(ReferenceKind::Stake, unstaked_at as u64, 77).to_string();
    service
        .database
        .collection::<Document>("stake_accounts")
        .insert_many([
            doc! { "_id": &stake_account, "wallet": alice.as_str(), "validator": "v1", "principal": 3_000_000_000i64,
            "amount": 0i64, "rewards": 10_000_000i64, "activation_epoch": 1i64, "deactivation_epoch": 8i64,
            "last_rewarded_epoch": 8i64, "withdrawn": true, "created_at": mongodb::bson::DateTime::now(),
            "reference": &stake, "unstake_reference": &unstake,
            "unstaked_at": mongodb::bson::DateTime::from_millis(unstaked_at) },
            doc! { "_id": "BobsStake", "wallet": bob.as_str(), "validator": "v1", "principal": 1i64, "amount": 1i64,
            "rewards": 0i64, "activation_epoch": 1i64, "deactivation_epoch": null, "last_rewarded_epoch": 1i64,
            "withdrawn": false, "created_at": mongodb::bson::DateTime::now(), "reference": null },
        ])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let withdraw = apply(
        &service,
        ReferenceKind::Stake,
        vec![leg(pool, a.clone(), Token::Sol, "3.01")],
        doc! { "action": "withdraw", "stake_account": &stake_account },
    )
    .await;

    // Every row once, newest first, whatever the page size.
    let rows = all_rows(&service, &alice, "", 100).await;
    let references: Vec<String> = rows.iter().map(|row| row.reference.to_string()).collect();
    assert_eq!(
        references,
        [&withdraw, &unstake, &reward, &stake, &swap, &received, &sent, &airdrop].map(String::clone)
    );
    for limit in [1, 3] {
        let paged: Vec<String> =
            all_rows(&service, &alice, "", limit).await.iter().map(|row| row.reference.to_string()).collect();
        assert_eq!(paged, references, "pages of {limit}");
    }
    let kinds: Vec<ActivityKind> = rows.iter().map(|row| row.kind).collect();
    use ActivityKind::*;
    assert_eq!(kinds, [Withdraw, Unstake, Reward, Stake, Swap, Received, Sent, Airdrop]);

    // What the rows say.
    let row = |reference: &str| rows.iter().find(|row| row.reference.as_str() == reference).unwrap();
    let sol = |text: &str| Some(TokenAmount { token: Token::Sol, amount: Amount::parse(text, 9).unwrap() });
    assert_eq!(row(&sent).sent, sol("1.5"));
    assert_eq!(row(&sent).counterparty, Some(bob.clone()));
    assert_eq!(row(&sent).note.as_deref(), Some("rent"));
    assert_eq!(row(&sent).usd_value.unwrap().format(), "$225.00", "1.5 SOL at $150");
    assert_eq!(row(&received).received, sol("0.25"));
    assert_eq!(row(&swap).fee, Some(TokenAmount { token: Token::Usdc, amount: Amount::parse("1", 6).unwrap() }));
    assert_eq!(row(&swap).usd_value.unwrap().format(), "$300.00", "2 SOL at the fill's $150");
    assert_eq!(row(&stake).staked_change, 3_000_000_000);
    assert_eq!(row(&reward).staked_change, 10_000_000);
    assert_eq!(row(&reward).note.as_deref(), Some("Epoch 7"));
    assert_eq!(row(&withdraw).staked_change, -3_010_000_000);
    assert_eq!(row(&unstake).stake_account.as_deref(), Some(stake_account.as_str()));

    // Summed, the rows give the balances exactly: spendable per token, and nothing left staked.
    let balances = solstice_ledger::LedgerReader::new(&service.database).balances(&a).await.unwrap();
    for (token, balance) in balances {
        let sum: i128 = rows
            .iter()
            .map(|row| {
                let side = |part: Option<TokenAmount>| {
                    part.filter(|part| part.token == token).map_or(0, |part| i128::from(part.amount.base_units()))
                };
                side(row.received) - side(row.sent)
            })
            .sum();
        assert_eq!(sum, i128::from(balance.base_units()), "{token}");
    }
    assert_eq!(rows.iter().map(|row| row.staked_change).sum::<i64>(), 0);
    // The value history, rebuilt from the same records, ends at what the portfolio shows.
    let history: solstice_types::portfolio::ValueHistory =
        get_as(&service, &alice, "/v1/portfolio/history?range=all").await.json().await.unwrap();
    let portfolio: Portfolio =
        get_signed(&service, &alice, solstice_testkit::host_key(), 0).await.json().await.unwrap();
    assert_eq!(history.points.last().map(|point| point.value), Some(portfolio.total_value));

    // Filters, each alone and together.
    for kind in ActivityKind::ALL {
        let only = all_rows(&service, &alice, &format!("&kind={}", kind.as_str()), 100).await;
        assert_eq!(only.len(), 1, "{kind:?}");
        assert_eq!(only[0].kind, kind);
    }
    let usdc = all_rows(&service, &alice, "&token=USDC", 100).await;
    assert_eq!(usdc.iter().map(|row| row.reference.to_string()).collect::<Vec<_>>(), std::slice::from_ref(&swap));
    let today = chrono_day(unstaked_at);
    assert_eq!(all_rows(&service, &alice, &format!("&from={today}&to={today}"), 100).await.len(), 8);
    assert!(all_rows(&service, &alice, "&to=2020-01-01", 100).await.is_empty());
    // A cursor from beyond year 9999 (some stores' last date) is simply after everything.
    assert_eq!(all_rows(&service, &alice, "&before=AIR-ZZZZZZZZZZ-000000", 100).await.len(), 8);

    // Look-up by reference: Alice's rows, the reward and the unstake included; Bob's are not hers.
    for reference in [&reward, &unstake, &swap] {
        let response = get_as(&service, &alice, &format!("/v1/activity/{}", reference.to_lowercase())).await;
        assert_eq!(response.status(), StatusCode::OK, "{reference}");
        assert_eq!(&response.json::<ActivityRow>().await.unwrap(), row(reference));
    }
    for reference in [&swap, &reward] {
        let response = get_as(&service, &bob, &format!("/v1/activity/{reference}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{reference}");
    }
    assert_eq!(all_rows(&service, &bob, "&kind=reward", 100).await.len(), 1, "only Bob's own reward");

    // Mistakes get a sentence and a 400.
    for (query, words) in [
        ("kind=gift", "The kind must be one of"),
        ("token=DOGE", "DOGE"),
        ("from=30/11/2026", "The from date must be a day like 2026-11-30."),
        ("from=2026-11-30&to=2026-11-01", "The from date must not be after the to date."),
        ("before=nope", "reference number"),
        ("to=", "The to date must be a day like 2026-11-30."),
        ("kind=", "The kind must be one of"),
        ("limit=0", "1 to 1,000"),
        ("limit=1001", "1 to 1,000"),
    ] {
        let response = get_as(&service, &alice, &format!("/v1/activity?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["message"].as_str().unwrap().contains(words), "{query}: {error}");
    }
}

/// The UTC day of a Unix millisecond: `YYYY-MM-DD`.
fn chrono_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string()
}

/// Writes a record straight into the ledger's collection, made at `at` (Unix milliseconds; the
/// ledger itself only ever records the present).
async fn record_at(
    service: &TestService,
    kind: ReferenceKind,
    at: i64,
    legs: &[(&AccountId, &AccountId, Token, u64)],
    details: Document,
) -> String {
    let reference = solstice_types::Reference::new(kind, at as u64, rand_key().len() as u32 * 7919).to_string();
    let legs: Vec<Document> = legs
        .iter()
        .map(|(from, to, token, amount)| doc! { "from": from.to_string(), "to": to.to_string(), "token": token.symbol(), "amount": *amount as i64 })
        .collect();
    let mut accounts: Vec<String> = legs
        .iter()
        .flat_map(|leg| [leg.get_str("from").unwrap().to_owned(), leg.get_str("to").unwrap().to_owned()])
        .collect();
    accounts.dedup();
    service
        .database
        .collection::<Document>("ledger_transactions")
        .insert_one(doc! {
            "_id": &reference, "kind": mongodb::bson::to_bson(&kind).unwrap(), "idempotency_key": rand_key(),
            "fingerprint": "test", "legs": legs, "entries": [], "accounts": accounts,
            "created_at": mongodb::bson::DateTime::from_millis(at), "details": details,
        })
        .await
        .unwrap();
    reference
}

#[tokio::test]
async fn a_full_page_of_a_thousand_rows_says_there_is_more() {
    let service = spawn_service().await;
    let alice = wallet(1);
    let (a, faucet) = (AccountId::wallet(&alice), AccountId::System(SystemAccount::Faucet));
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    for i in 0..1_001 {
        record_at(
            &service,
            ReferenceKind::Transfer,
            now - 2_000_000 + i * 1_000,
            &[(&faucet, &a, Token::Sol, 1)],
            doc! {},
        )
        .await;
    }
    let rows = all_rows(&service, &alice, "", 1_000).await;
    assert_eq!(rows.len(), 1_001, "the second page holds the last row");
}

#[tokio::test]
async fn the_value_history_is_rebuilt_from_the_ledger_and_the_stored_prices_and_costs_are_averaged() {
    use solstice_market::{Candle, Interval};
    use solstice_types::portfolio::ValueHistory;
    let service = spawn_service().await;
    let (alice, bob) = (wallet(1), wallet(2));
    let (a, b) = (AccountId::wallet(&alice), AccountId::wallet(&bob));
    let (faucet, treasury) = (AccountId::System(SystemAccount::Faucet), AccountId::System(SystemAccount::Treasury));
    let hour = 3_600_000;
    // SOL was $100 three hours ago, $125 two hours ago, $140 since; USDC $1. Live: SOL $150.
    let store = MarketStore::new(&service.database);
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    let now_s = now_ms / 1_000;
    // Three hours before the current hour began: on the chart's grid and the candles'.
    let t0 = now_ms - now_ms.rem_euclid(hour) - 3 * hour;
    for hours_ago in 0..=4 {
        let start = Interval::OneHour.start_of(now_s - hours_ago * 3_600);
        let sol = match hours_ago {
            4 | 3 => 100,
            2 => 125,
            _ => 140,
        };
        for (token, dollars) in [(Token::Sol, sol), (Token::Usdc, 1)] {
            let price = UsdPrice::from_picodollars(dollars * 1_000_000_000_000);
            store.write_candle(token, Interval::OneHour, &Candle::at(start, price), 1).await.unwrap();
        }
    }
    record_at(&service, ReferenceKind::Airdrop, t0, &[(&faucet, &a, Token::Sol, 10_000_000_000)], doc! {}).await;
    let swap_details = doc! {
        "quote_id": "q", "side": "ExactIn", "from": "SOL", "to": "USDC", "amount_in": 4_000_000_000i64,
        "amount_out": 500_000_000i64, "fee": 0i64, "fee_bps": 0, "price_impact_bps": 0, "slippage_bps": 50,
        "quoted_price_in": 125_000_000_000_000i64, "quoted_price_out": 1_000_000_000_000i64,
        "price_in": 125_000_000_000_000i64, "price_out": 1_000_000_000_000i64,
    };
    record_at(
        &service,
        ReferenceKind::Swap,
        t0 + hour,
        &[(&a, &treasury, Token::Sol, 4_000_000_000), (&treasury, &a, Token::Usdc, 500_000_000)],
        swap_details,
    )
    .await;
    record_at(&service, ReferenceKind::Transfer, t0 + 2 * hour, &[(&b, &a, Token::Usdc, 100_000_000)], doc! {}).await;

    let response = get_as(&service, &alice, "/v1/portfolio/history?range=24h").await;
    assert_eq!(response.status(), StatusCode::OK);
    let history: ValueHistory = response.json().await.unwrap();
    let dollars = |picos: u128| picos / 1_000_000_000_000;
    let values: Vec<u128> = history.points.iter().map(|point| dollars(point.value.picodollars())).collect();
    // Every quarter hour from the airdrop: 10 SOL at $100 for an hour, then 6 SOL at $125 and
    // 500 USDC, then 6 SOL at $140 and 600 USDC; now 6 SOL at $150 and 600 USDC.
    assert_eq!(values[..12], [1_000, 1_000, 1_000, 1_000, 1_250, 1_250, 1_250, 1_250, 1_440, 1_440, 1_440, 1_440]);
    assert!(values[12..values.len() - 1].iter().all(|value| *value == 1_440), "{values:?}");
    assert_eq!(values.last(), Some(&1_500), "{values:?}");
    assert_eq!(history.points[0].at_ms, t0);
    assert!(history.points.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    assert_eq!(history.change.map(|c| c / 1_000_000_000_000), Some(500));
    assert_eq!(history.change_bps, Some(5_000));

    // SOL: 10 bought at $100, 4 sold: 6 cost $600, worth $900. USDC: 500 for 4 SOL at $125
    // ($500) and 100 at $1: 600 cost $600, worth $600.
    let cost = |token: Token| history.tokens.iter().find(|cost| cost.token == token).unwrap().clone();
    assert_eq!(cost(Token::Sol).amount, Amount::parse("6", 9).unwrap());
    assert_eq!(cost(Token::Sol).cost.map(|c| dollars(c.picodollars())), Some(600));
    assert_eq!(cost(Token::Sol).pnl.map(|p| p / 1_000_000_000_000), Some(300));
    assert_eq!(cost(Token::Sol).pnl_bps, Some(5_000));
    assert_eq!(cost(Token::Usdc).cost.map(|c| dollars(c.picodollars())), Some(600));
    assert_eq!(cost(Token::Usdc).pnl, Some(0));

    // Bob's history knows nothing of Alice's SOL; a range that does not exist is refused.
    let bobs: ValueHistory = get_as(&service, &bob, "/v1/portfolio/history?range=all").await.json().await.unwrap();
    assert!(bobs.tokens.iter().all(|cost| cost.token != Token::Sol));
    let response = get_as(&service, &alice, "/v1/portfolio/history?range=1y").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
