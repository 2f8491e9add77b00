//! The swap service over real HTTP against a real database, with a market the test moves:
//! ticks written to the store as the market recorder writes them, which the service follows.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use mongodb::{Database, bson::doc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use solstice_ledger::{AccountId, IdempotencyKey, Ledger, Leg, SystemAccount, TransactionRequest};
use solstice_market::{MarketKind, MarketTick, TickPrice, store::MarketStore};
use solstice_testkit::{assert_books_balance, new_user, signed};
use solstice_types::{Amount, ReferenceKind, Token, UsdPrice, WalletAddress};

const SOL: u64 = 1_000_000_000;
const USDC: u64 = 1_000_000;
const JTO: u64 = 1_000_000_000;

/// A market the test moves: a tick every 100 ms, each token at a fixed price shifted by some
/// basis points (or marked suspect), until it is paused (its prices then go stale).
#[derive(Default)]
struct TestMarket {
    shift_bps: Mutex<HashMap<Token, i64>>,
    suspect: Mutex<HashSet<Token>>,
    paused: AtomicBool,
}

/// Each token's price before any shift, in picodollars.
fn base_price(token: Token) -> u64 {
    match token {
        Token::Sol => 150_000_000_000_000,
        Token::Usdc | Token::Usdt => 1_000_000_000_000,
        Token::Jup => 550_000_000_000,
        Token::Bonk => 21_000_000,
        Token::Ray => 2_100_000_000_000,
        Token::Jto => 2_300_000_000_000,
    }
}

impl TestMarket {
    fn tick(&self, seq: u64) -> MarketTick {
        let shifts = self.shift_bps.lock().unwrap();
        let suspect = self.suspect.lock().unwrap();
        MarketTick {
            seq,
            term: 1,
            at_ms: mongodb::bson::DateTime::now().timestamp_millis(),
            market: MarketKind::Simulated,
            prices: Token::ALL
                .into_iter()
                .map(|token| {
                    let shift = i128::from(shifts.get(&token).copied().unwrap_or(0));
                    let picos = i128::from(base_price(token)) * (10_000 + shift) / 10_000;
                    TickPrice {
                        token,
                        price: UsdPrice::from_picodollars(picos as u64),
                        open_24h: None,
                        suspect: suspect.contains(&token),
                        sources: vec!["test".into()],
                    }
                })
                .collect(),
        }
    }

    async fn run(self: Arc<Self>, store: MarketStore) {
        let mut seq = 1;
        loop {
            if !self.paused.load(Ordering::SeqCst) {
                store.write_tick(&self.tick(seq)).await.unwrap();
                seq += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Long enough for the service to see the next ticks.
const PROPAGATION: Duration = Duration::from_millis(400);

struct TestApp {
    base: String,
    ledger: Ledger,
    database: Database,
    market: Arc<TestMarket>,
}

async fn spawn_app_with(ttl_seconds: u32) -> TestApp {
    spawn_app_configured(|config| config.quote_ttl_seconds = ttl_seconds).await
}

async fn spawn_app_configured(configure: impl FnOnce(&mut solstice_swap::Config)) -> TestApp {
    let (client, database) = solstice_testkit::fresh_database().await;
    spawn_app_over(client, database, configure).await
}

async fn spawn_app_over(
    client: mongodb::Client,
    database: Database,
    configure: impl FnOnce(&mut solstice_swap::Config),
) -> TestApp {
    let market = Arc::new(TestMarket::default());
    tokio::spawn(market.clone().run(MarketStore::new(&database)));
    let mut config = solstice_swap::Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    config.freshness_seconds = 1;
    configure(&mut config);
    let app = solstice_swap::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    tokio::time::sleep(PROPAGATION).await;
    TestApp { base, ledger: Ledger::new(client, &database), database, market }
}

async fn spawn_app() -> TestApp {
    spawn_app_with(30).await
}

impl TestApp {
    /// Moves `token`'s price by `bps` from its base, and waits until the service sees it.
    async fn shift(&self, token: Token, bps: i64) {
        self.market.shift_bps.lock().unwrap().insert(token, bps);
        tokio::time::sleep(PROPAGATION).await;
    }

    async fn user(&self, amounts: &[(Token, u64)]) -> WalletAddress {
        new_user(&self.database, &self.ledger, amounts).await
    }

    async fn post(&self, wallet: &WalletAddress, path: &str, body: Value) -> (StatusCode, Value) {
        signed("POST", &format!("{}{path}", self.base), wallet, Some(body)).await
    }

    async fn get(&self, wallet: &WalletAddress, path: &str) -> (StatusCode, Value) {
        signed("GET", &format!("{}{path}", self.base), wallet, None).await
    }

    async fn quote(&self, wallet: &WalletAddress, body: Value) -> Value {
        let (status, quote) = self.post(wallet, "/v1/quotes", body).await;
        assert_eq!(status, StatusCode::CREATED, "{quote}");
        quote
    }

    async fn execute(&self, wallet: &WalletAddress, quote: &Value, key: &str) -> (StatusCode, Value) {
        self.post(wallet, "/v1/swaps", json!({ "quote_id": quote["id"], "idempotency_key": key })).await
    }

    async fn balance(&self, account: &AccountId, token: Token) -> u64 {
        self.ledger.balance(account, token).await.unwrap().base_units()
    }

    /// What a system account holds over all its shards.
    async fn system(&self, account: SystemAccount, token: Token) -> u64 {
        self.ledger.system_balance(account, token).await.unwrap().try_into().unwrap()
    }

    /// The treasury's shards that hold `token`, with what each holds.
    async fn shards(&self, token: Token) -> Vec<(u8, i64)> {
        let shards = self.ledger.shard_balances(SystemAccount::Treasury, token).await.unwrap();
        shards.into_iter().filter(|(_, amount)| *amount > 0).collect()
    }
}

fn key() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

fn units(value: &Value) -> u64 {
    value.as_u64().unwrap()
}

fn sell(from: &str, to: &str, amount: &str) -> Value {
    json!({ "from": from, "to": to, "amount": amount, "side": "exact_in" })
}

#[tokio::test]
async fn an_unmoved_market_fills_at_the_quoted_terms_with_the_fee_to_the_fee_account() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let wallet = AccountId::wallet(&alice);
    let treasury_usdc = app.system(SystemAccount::Treasury, Token::Usdc).await;

    let quote = app.quote(&alice, sell("SOL", "USDC", "2")).await;
    assert_eq!(units(&quote["amount_in"]), 2 * SOL);
    assert_eq!(quote["fee_bps"], 30);
    assert_eq!(quote["slippage_bps"], 50);
    assert!(units(&quote["min_received"]) < units(&quote["amount_out"]));
    assert!(units(&quote["expires_at_ms"]) - units(&quote["quoted_at_ms"]) == 30_000);

    let (status, swap) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    assert!(swap["reference"].as_str().unwrap().starts_with("SWP-"));
    assert_eq!(swap["status"], "completed");
    assert_eq!(swap["amount_out"], quote["amount_out"]);
    assert_eq!(swap["fee"], quote["fee"]);
    assert_eq!(app.balance(&wallet, Token::Sol).await, 8 * SOL);
    assert_eq!(app.balance(&wallet, Token::Usdc).await, units(&quote["amount_out"]));
    assert_eq!(app.system(SystemAccount::Fees, Token::Usdc).await, units(&quote["fee"]));
    assert_eq!(
        app.system(SystemAccount::Treasury, Token::Usdc).await,
        treasury_usdc - units(&quote["amount_out"]) - units(&quote["fee"])
    );

    let (status, opened) = app.get(&alice, &format!("/v1/swaps/{}", swap["reference"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(opened, swap);
    let (_, history) = app.get(&alice, "/v1/swaps").await;
    assert_eq!(history["swaps"][0], swap);
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn an_exact_out_swap_delivers_exactly_the_amount_asked() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Usdc, 1_000 * USDC)]).await;
    let quote = app
        .quote(
            &alice,
            json!({ "from": "USDC", "to": "SOL", "amount": "0.5", "side": "exact_out", "slippage_bps": 100 }),
        )
        .await;
    assert_eq!(units(&quote["amount_out"]), SOL / 2);
    assert_eq!(quote["min_received"], quote["amount_out"]);
    assert!(units(&quote["max_sold"]) > units(&quote["amount_in"]));
    let (status, _) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED);
    let wallet = AccountId::wallet(&alice);
    assert_eq!(app.balance(&wallet, Token::Sol).await, SOL / 2);
    assert_eq!(app.balance(&wallet, Token::Usdc).await, 1_000 * USDC - units(&quote["amount_in"]));
}

#[tokio::test]
async fn bad_quote_requests_are_refused_clearly() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let with_slippage =
        |bps: u64| json!({ "from": "SOL", "to": "USDC", "amount": "1", "side": "exact_in", "slippage_bps": bps });
    let cases = [
        (sell("SOL", "SOL", "1"), "invalid_input", "Choose two different tokens."),
        (sell("SOL", "DOGE", "1"), "unknown_token", "Unknown token \"DOGE\"."),
        (sell("SOL", "USDC", "0"), "invalid_amount", "Enter an amount greater than zero."),
        (sell("USDC", "SOL", "1.0000001"), "invalid_amount", "USDC has at most 6 decimal places."),
        (sell("SOL", "USDC", "-1"), "invalid_amount", "Amounts cannot be negative."),
        (with_slippage(0), "invalid_input", "Choose a slippage tolerance between 0.01% and 5%."),
        (with_slippage(501), "invalid_input", "Choose a slippage tolerance between 0.01% and 5%."),
        (sell("SOL", "USDC", "0.000000001"), "invalid_amount", "That amount is too small to swap."),
    ];
    for (body, code, message) in cases {
        let (status, error) = app.post(&alice, "/v1/quotes", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {error}");
        assert_eq!((error["code"].as_str().unwrap(), error["message"].as_str().unwrap()), (code, message));
    }
    let (status, error) = app.post(&alice, "/v1/quotes", json!({ "from": "SOL" })).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
}

#[tokio::test]
async fn an_expired_quote_fails_and_moves_nothing() {
    let app = spawn_app_with(1).await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "0.5")).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "quote_expired");
    assert_eq!(error["message"], "This quote expired. Get a new quote to swap at the live price.");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, SOL);
}

#[tokio::test]
async fn a_swap_fills_at_the_live_price_within_the_quotes_bound() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let wallet = AccountId::wallet(&alice);

    // SOL falls 1 % after the quote, past the 0.5 % tolerance: refused, nothing moves.
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    app.shift(Token::Sol, -100).await;
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "price_moved");
    assert_eq!(
        error["message"],
        "The price moved more than your 0.5% slippage tolerance since this quote. Review the new quote."
    );
    assert_eq!(app.balance(&wallet, Token::Sol).await, 10 * SOL);

    // 0.2 % against the user, within tolerance: fills at the live price, less than quoted but
    // no less than the quote's minimum.
    app.shift(Token::Sol, 0).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    app.shift(Token::Sol, -20).await;
    let (status, swap) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    let received = units(&swap["amount_out"]);
    assert!(received < units(&quote["amount_out"]) && received >= units(&quote["min_received"]), "{swap}");
    assert_eq!(app.balance(&wallet, Token::Usdc).await, received);
    assert_eq!(swap["quoted_amount_out"], quote["amount_out"]);
    assert_eq!(swap["quoted_price_in"], quote["price_in"]);
    assert!(units(&swap["price_in"]) < units(&quote["price_in"]), "the execution price is recorded");

    // 3 % in the user's favour: the user gets the live price too, and the treasury does not
    // pay out a stale quote (a quote is no free option in either direction).
    app.shift(Token::Sol, 0).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    app.shift(Token::Sol, 300).await;
    let (status, swap) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    assert!(units(&swap["amount_out"]) > units(&quote["amount_out"]) * 102 / 100, "{swap}");
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn buying_an_exact_amount_pays_the_live_price_up_to_the_quotes_maximum() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Usdc, 1_000 * USDC)]).await;
    let buy = json!({ "from": "USDC", "to": "SOL", "amount": "1", "side": "exact_out" });
    let quote = app.quote(&alice, buy.clone()).await;
    app.shift(Token::Sol, 30).await;
    let (status, swap) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    assert_eq!(units(&swap["amount_out"]), SOL, "exactly the amount asked");
    let paid = units(&swap["amount_in"]);
    assert!(paid > units(&quote["amount_in"]) && paid <= units(&quote["max_sold"]), "{swap}");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Usdc).await, 1_000 * USDC - paid);

    let quote = app.quote(&alice, buy).await;
    app.shift(Token::Sol, 100).await;
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("price_moved")));
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Usdc).await, 1_000 * USDC - paid);
}

#[tokio::test]
async fn stale_prices_pause_quotes_and_swaps_until_they_are_fresh_again() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "0.5")).await;
    app.market.paused.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let (status, error) = app.post(&alice, "/v1/quotes", sell("SOL", "USDC", "0.5")).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("price_stale")));
    assert_eq!(error["message"], "Live prices are unavailable right now, so swaps are paused. Try again shortly.");
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("price_stale")));
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, SOL);
    // Prices flow again: no restart needed.
    app.market.paused.store(false, Ordering::SeqCst);
    tokio::time::sleep(PROPAGATION).await;
    let (status, swap) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
}

#[tokio::test]
async fn a_token_the_sources_disagree_about_is_not_quoted_or_filled() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "0.5")).await;
    app.market.suspect.lock().unwrap().insert(Token::Sol);
    tokio::time::sleep(PROPAGATION).await;
    let (status, error) = app.post(&alice, "/v1/quotes", sell("SOL", "USDC", "0.5")).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("price_stale")));
    assert_eq!(
        error["message"],
        "Price sources disagree about SOL right now, so its swaps are paused. Try again shortly."
    );
    let (status, _) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, SOL);
    // Other pairs trade on.
    let bob = app.user(&[(Token::Usdc, 10 * USDC)]).await;
    app.quote(&bob, sell("USDC", "USDT", "5")).await;
}

#[tokio::test]
async fn insufficient_funds_fail_and_move_nothing() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1.5")).await;
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["message"], "Your SOL balance is too low for this swap.");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, SOL);
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Usdc).await, 0);
}

#[tokio::test]
async fn a_quote_fills_once_and_a_retry_returns_the_first_swap() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    let retried = key();
    let (first_status, first) = app.execute(&alice, &quote, &retried).await;
    let (again_status, again) = app.execute(&alice, &quote, &retried).await;
    assert_eq!((first_status, again_status), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(first, again);
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["message"], "This quote was already used. Get a new quote.");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 9 * SOL);
}

#[tokio::test]
async fn a_key_reused_for_another_quote_is_refused_and_that_quote_stays_usable() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let reused = key();
    let first = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    assert_eq!(app.execute(&alice, &first, &reused).await.0, StatusCode::CREATED);
    let second = app.quote(&alice, sell("SOL", "USDC", "2")).await;
    let (status, error) = app.execute(&alice, &second, &reused).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{error}");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 9 * SOL, "nothing moved");
    assert_eq!(app.execute(&alice, &second, &key()).await.0, StatusCode::CREATED, "the quote was not used");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 7 * SOL);
}

/// Asking for a quote changes nothing, so its signed request is not recorded as used (a
/// database write saved per swap): sent again, it only quotes again. A signed swap is accepted
/// once, however often it arrives.
#[tokio::test]
async fn a_replayed_quote_request_only_quotes_again_and_a_replayed_swap_is_refused() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let signed_copy = |path: &str, body: &Value| {
        let (url, bytes) = (format!("{}{path}", app.base), serde_json::to_vec(body).unwrap());
        (url.clone(), solstice_testkit::host_signature("POST", &url, &alice, &bytes), bytes)
    };
    let (url, headers, bytes) = signed_copy("/v1/quotes", &sell("SOL", "USDC", "1"));
    let (first_status, first) = solstice_testkit::send("POST", &url, &headers, &bytes, true).await;
    let (again_status, again) = solstice_testkit::send("POST", &url, &headers, &bytes, true).await;
    assert_eq!((first_status, again_status), (StatusCode::CREATED, StatusCode::CREATED), "{again}");
    assert_ne!(first["id"], again["id"], "each answer is a quote of its own");
    let nonces = app.database.collection::<mongodb::bson::Document>(solstice_kit::auth::NONCES);
    assert_eq!(nonces.count_documents(doc! {}).await.unwrap(), 0, "quoting wrote nothing");

    let body = json!({ "quote_id": first["id"], "idempotency_key": key() });
    let (url, headers, bytes) = signed_copy("/v1/swaps", &body);
    assert_eq!(solstice_testkit::send("POST", &url, &headers, &bytes, true).await.0, StatusCode::CREATED);
    let (status, error) = solstice_testkit::send("POST", &url, &headers, &bytes, true).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["message"], "This signed request was already used.");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 9 * SOL);
    assert_eq!(app.execute(&alice, &again, &key()).await.0, StatusCode::CREATED, "the other quote fills too");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 8 * SOL);
}

/// A quote costs the exchange nothing to keep (its id carries its terms): a wallet comparing
/// swaps may ask for as many as it likes, and any of them fills, once.
#[tokio::test]
async fn a_wallet_may_hold_many_quotes_and_fill_any_of_them_once() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let mut quotes = Vec::new();
    for _ in 0..60 {
        quotes.push(app.quote(&alice, sell("SOL", "USDC", "0.1")).await);
    }
    let ids: HashSet<&str> = quotes.iter().map(|quote| quote["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), quotes.len(), "every quote is its own");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 10 * SOL, "quoting moves nothing");
    for quote in [&quotes[0], &quotes[59], &quotes[30]] {
        assert_eq!(app.execute(&alice, quote, &key()).await.0, StatusCode::CREATED);
    }
    assert_eq!(app.execute(&alice, &quotes[59], &key()).await.0, StatusCode::CONFLICT);
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 97 * SOL / 10);
}

/// A quote id that was changed (its terms, its seal, anything) is not a quote.
#[tokio::test]
async fn a_changed_quote_is_unknown_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    let id = quote["id"].as_str().unwrap();
    // Another base58 digit at `at`.
    let change = |at: usize| {
        let digit = if &id[at..=at] == "2" { "3" } else { "2" };
        format!("{}{digit}{}", &id[..at], &id[at + 1..])
    };
    for changed in [
        change(id.len() / 2),
        change(id.len() - 1),
        id[..id.len() - 1].to_owned(),
        format!("{id}2"),
        "q_".to_owned() + &"z".repeat(200),
    ] {
        let (status, error) = app.execute(&alice, &json!({ "id": changed }), &key()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{changed}: {error}");
        assert_eq!(error["message"], "This quote does not exist. Get a new quote.");
    }
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 10 * SOL);
    assert_eq!(app.execute(&alice, &quote, &key()).await.0, StatusCode::CREATED, "the quote itself fills");
}

/// The same quote sent at once under many keys (two tabs, a script) fills once.
#[tokio::test]
async fn simultaneous_fills_of_one_quote_under_different_keys_fill_it_once() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    let base = app.base.clone();
    let burst: Vec<_> = (0..8)
        .map(|_| {
            let (base, alice, quote) = (base.clone(), alice.clone(), quote.clone());
            tokio::spawn(async move {
                let body = json!({ "quote_id": quote["id"], "idempotency_key": key() });
                signed("POST", &format!("{base}/v1/swaps"), &alice, Some(body)).await
            })
        })
        .collect();
    let mut filled = 0;
    for request in burst {
        let (status, answer) = request.await.unwrap();
        match status {
            StatusCode::CREATED => filled += 1,
            StatusCode::CONFLICT => assert_eq!(answer["message"], "This quote was already used. Get a new quote."),
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(filled, 1);
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 9 * SOL);
    assert_books_balance(&app.ledger).await;
}

/// A retry of a fill whose answer was lost is answered with that fill even once the quote has
/// expired; the expired quote under a new key is refused as expired.
#[tokio::test]
async fn a_retry_after_the_quote_expired_is_answered_with_the_first_fill() {
    let app = spawn_app_with(1).await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "1")).await;
    let retried = key();
    let (status, first) = app.execute(&alice, &quote, &retried).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, again) = app.execute(&alice, &quote, &retried).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let (status, error) = app.execute(&alice, &quote, &key()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("quote_expired")), "{error}");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 9 * SOL);
}

/// Every replica of the exchange fills every replica's quotes: they share the key, which the
/// first one to start made.
#[tokio::test]
async fn a_quote_made_by_one_replica_fills_on_another() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let first = spawn_app_over(client.clone(), database.clone(), |_| {}).await;
    let second = spawn_app_over(client, database, |_| {}).await;
    let alice = first.user(&[(Token::Sol, 10 * SOL)]).await;
    let quote = first.quote(&alice, sell("SOL", "USDC", "1")).await;
    let (status, swap) = second.execute(&alice, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    assert_eq!(swap["quote_id"], quote["id"]);
    assert_eq!(first.execute(&alice, &quote, &key()).await.0, StatusCode::CONFLICT, "filled once");
}

#[tokio::test]
async fn nobody_uses_someone_elses_quote_or_sees_their_swaps() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let eve = app.user(&[(Token::Sol, SOL)]).await;
    let quote = app.quote(&alice, sell("SOL", "USDC", "0.5")).await;
    let (status, _) = app.execute(&eve, &quote, &key()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.balance(&AccountId::wallet(&eve), Token::Sol).await, SOL);
    let (_, swap) = app.execute(&alice, &quote, &key()).await;
    let reference = swap["reference"].as_str().unwrap();
    let (status, error) = app.get(&eve, &format!("/v1/swaps/{reference}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["message"], format!("You have no swap {reference}."));
    assert_eq!(app.get(&eve, "/v1/swaps").await.1["swaps"], json!([]));
    assert_eq!(app.get(&alice, "/v1/swaps/garbage").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn history_filters_by_token_and_date_and_pages() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 100 * SOL)]).await;
    let mut references = Vec::new();
    for to in ["USDC", "JUP", "USDC", "BONK", "USDC"] {
        let quote = app.quote(&alice, sell("SOL", to, "1")).await;
        let (_, swap) = app.execute(&alice, &quote, &key()).await;
        references.push((to, swap["reference"].as_str().unwrap().to_owned(), units(&swap["created_at_ms"])));
    }
    let refs = |page: &Value| -> Vec<String> {
        page["swaps"].as_array().unwrap().iter().map(|s| s["reference"].as_str().unwrap().to_owned()).collect()
    };
    let (_, usdc) = app.get(&alice, "/v1/swaps?token=usdc").await;
    let expected: Vec<String> =
        references.iter().rev().filter(|(t, ..)| *t == "USDC").map(|(_, r, _)| r.clone()).collect();
    assert_eq!(refs(&usdc), expected);
    let (_, sol) = app.get(&alice, "/v1/swaps?token=SOL&limit=2").await;
    assert_eq!(refs(&sol), [references[4].1.clone(), references[3].1.clone()]);
    let next = sol["next_before"].as_str().unwrap();
    let (_, rest) = app.get(&alice, &format!("/v1/swaps?token=SOL&limit=2&before={next}")).await;
    assert_eq!(refs(&rest), [references[2].1.clone(), references[1].1.clone()]);
    let since = references[3].2;
    let (_, recent) = app.get(&alice, &format!("/v1/swaps?since={since}")).await;
    assert_eq!(refs(&recent), [references[4].1.clone(), references[3].1.clone()]);
    let (_, older) = app.get(&alice, &format!("/v1/swaps?until={since}")).await;
    assert_eq!(refs(&older).len(), 3);
    assert_eq!(app.get(&alice, "/v1/swaps?token=DOGE").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&alice, &format!("/v1/swaps?since={since}&until={since}")).await.0, StatusCode::BAD_REQUEST);
}

/// Hundreds of concurrent swaps in both directions between a few wallets, each executed twice
/// with the same key (a retry racing its original) and some with a second key (a double
/// click): every quote fills at most once, the books balance, nothing goes negative.
#[tokio::test]
async fn concurrent_swaps_with_retries_conserve_every_token() {
    // Each wallet holds 40 quotes before any is executed. Prices stay fresh for longer than the
    // test takes: the test market ticks on the same thread as these hundreds of requests, and
    // freshness is not what this test is about.
    let app = spawn_app_configured(|config| config.freshness_seconds = 60).await;
    let mut wallets = Vec::new();
    for _ in 0..4 {
        wallets.push(app.user(&[(Token::Sol, 8 * SOL), (Token::Usdc, 1_500 * USDC)]).await);
    }
    let mut quotes = Vec::new();
    for n in 0..160usize {
        let wallet = wallets[n % 4].clone();
        let body = if (n / 4) % 2 == 0 { sell("SOL", "USDC", "0.5") } else { sell("USDC", "SOL", "90") };
        quotes.push((wallet.clone(), app.quote(&wallet, body).await));
    }
    let mut calls = Vec::new();
    for (n, (wallet, quote)) in quotes.iter().enumerate() {
        let keys = if n % 5 == 0 {
            vec![key(), key()]
        } else {
            let k = key();
            vec![k.clone(), k]
        };
        for k in keys {
            let (base, wallet, id) = (app.base.clone(), wallet.clone(), quote["id"].clone());
            calls.push(tokio::spawn(async move {
                let body = json!({ "quote_id": id, "idempotency_key": k });
                // A busy answer (503) is retried with the same key, as the host does.
                let url = format!("{base}/v1/swaps");
                let (status, value) = solstice_testkit::signed_retrying_busy(&url, &wallet, body).await;
                (id.as_str().unwrap().to_owned(), status, value)
            }));
        }
    }
    let mut filled: HashMap<String, String> = HashMap::new();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for call in futures::future::join_all(calls).await {
        let (quote_id, status, value) = call.unwrap();
        *statuses.entry(status.as_u16()).or_default() += 1;
        match status.as_u16() {
            200 | 201 => {
                let reference = value["reference"].as_str().unwrap().to_owned();
                if let Some(first) = filled.insert(quote_id, reference.clone()) {
                    assert_eq!(first, reference, "a quote filled twice");
                }
            }
            409 => assert_eq!(value["code"], "conflict", "{value}"),
            422 => assert_eq!(value["code"], "insufficient_funds", "{value}"),
            other => panic!("unexpected {other}: {value}"),
        }
    }
    assert!(filled.len() > 100, "most swaps went through: {} ({statuses:?})", filled.len());
    let mut recorded = HashSet::new();
    for wallet in &wallets {
        let (_, page) = app.get(wallet, "/v1/swaps?limit=100").await;
        for swap in page["swaps"].as_array().unwrap() {
            assert!(recorded.insert(swap["quote_id"].as_str().unwrap().to_owned()), "one record per quote");
        }
    }
    assert_eq!(recorded, filled.keys().cloned().collect::<HashSet<_>>());
    assert_books_balance(&app.ledger).await;
}

/// Waits until the rebalancer has spread every token over `shards` treasury shards.
async fn wait_for_spread(app: &TestApp, shards: usize) {
    for _ in 0..100 {
        let mut spread = true;
        for token in Token::ALL {
            spread &= app.shards(token).await.len() == shards;
        }
        if spread {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the treasury was not spread over {shards} shards: {:?}", app.shards(Token::Usdc).await);
}

/// The fee account's shards that collected `token`.
async fn fee_shards(app: &TestApp, token: Token) -> Vec<u8> {
    let mut collected = Vec::new();
    for shard in 0..solstice_ledger::MAX_SHARDS {
        if app.balance(&AccountId::shard(SystemAccount::Fees, shard), token).await > 0 {
            collected.push(shard);
        }
    }
    collected
}

/// 32 swaps of 1 SOL for USDC by one wallet; returns the USDC received and the fees paid.
async fn sell_sol_32_times(app: &TestApp, wallet: &WalletAddress) -> (u64, u64) {
    let (mut received, mut fees) = (0, 0);
    for _ in 0..32 {
        let quote = app.quote(wallet, sell("SOL", "USDC", "1")).await;
        let (status, swap) = app.execute(wallet, &quote, &key()).await;
        assert_eq!(status, StatusCode::CREATED, "{swap}");
        received += units(&swap["amount_out"]);
        fees += units(&swap["fee"]);
    }
    (received, fees)
}

#[tokio::test]
async fn swaps_fill_from_every_treasury_shard_and_the_fees_follow_them() {
    let app = spawn_app().await;
    wait_for_spread(&app, 8).await;
    let (treasury_sol, treasury_usdc) =
        (app.system(SystemAccount::Treasury, Token::Sol).await, app.system(SystemAccount::Treasury, Token::Usdc).await);
    let alice = app.user(&[(Token::Sol, 40 * SOL)]).await;
    let (received, fees) = sell_sol_32_times(&app, &alice).await;
    // 32 swaps over 8 shards: several took part (all 32 on one shard: 1 chance in 8^31).
    assert!(fee_shards(&app, Token::Usdc).await.len() > 1, "every swap filled from one shard");
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Usdc).await, received);
    assert_eq!(app.balance(&AccountId::wallet(&alice), Token::Sol).await, 8 * SOL);
    assert_eq!(app.system(SystemAccount::Fees, Token::Usdc).await, fees);
    assert_eq!(app.system(SystemAccount::Treasury, Token::Usdc).await, treasury_usdc - received - fees);
    assert_eq!(app.system(SystemAccount::Treasury, Token::Sol).await, treasury_sol + 32 * SOL);
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn a_swap_whose_shard_is_empty_fills_from_one_that_holds_enough() {
    // Another replica holds the rebalancer's lease and never rebalances: the inventory stays in
    // shard 0, where genesis put it, so 7 swaps in 8 pick an empty shard first.
    let (client, database) = solstice_testkit::fresh_database().await;
    let lease = doc! {
        "_id": "treasury_rebalancer", "holder": "elsewhere", "term": 1_i64,
        "expires_at": mongodb::bson::DateTime::from_millis(4_102_444_800_000), // 2100,
    };
    database.collection::<mongodb::bson::Document>("swap_leases").insert_one(lease).await.unwrap();
    let app = spawn_app_over(client, database, |_| {}).await;
    let treasury_usdc = app.system(SystemAccount::Treasury, Token::Usdc).await;
    let alice = app.user(&[(Token::Sol, 40 * SOL)]).await;
    let (received, fees) = sell_sol_32_times(&app, &alice).await;
    assert_eq!(app.shards(Token::Usdc).await.iter().map(|(shard, _)| *shard).collect::<Vec<_>>(), [0]);
    assert_eq!(fee_shards(&app, Token::Usdc).await, [0]);
    assert_eq!(app.system(SystemAccount::Treasury, Token::Usdc).await, treasury_usdc - received - fees);
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn a_swap_larger_than_any_shard_holds_is_refused_and_moves_nothing() {
    // The treasury is left with 1,000 JTO in each of its 8 shards: 8,000 in all, but no one
    // swap may take 2,000.
    let app = spawn_app().await;
    wait_for_spread(&app, 8).await;
    // In one transaction, so that the rebalancer sees the shards even before and after.
    let sink = AccountId::wallet(&app.user(&[]).await);
    let legs = app
        .shards(Token::Jto)
        .await
        .into_iter()
        .map(|(shard, held)| Leg {
            from: AccountId::shard(SystemAccount::Treasury, shard),
            to: sink.clone(),
            token: Token::Jto,
            amount: Amount::from_base_units(held as u64 - 1_000 * JTO).unwrap(),
        })
        .collect();
    let drain = IdempotencyKey::new("test:drain").unwrap();
    app.ledger.apply(TransactionRequest::new(ReferenceKind::Transfer, drain, legs)).await.unwrap();
    assert_eq!(app.shards(Token::Jto).await, (0..8).map(|shard| (shard, (1_000 * JTO) as i64)).collect::<Vec<_>>());
    let whale = app.user(&[(Token::Usdc, 100_000 * USDC)]).await;
    let quote = app.quote(&whale, json!({ "from": "USDC", "to": "JTO", "amount": "2000", "side": "exact_out" })).await;
    let (status, error) = app.execute(&whale, &quote, &key()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["code"], "insufficient_liquidity");
    assert_eq!(error["message"], "The exchange cannot deliver this much JTO right now. Try a smaller amount.");
    assert_eq!(app.balance(&AccountId::wallet(&whale), Token::Usdc).await, 100_000 * USDC);
    assert_eq!(app.balance(&AccountId::wallet(&whale), Token::Jto).await, 0);
    // A size one shard can deliver still fills.
    let quote = app.quote(&whale, json!({ "from": "USDC", "to": "JTO", "amount": "900", "side": "exact_out" })).await;
    let (status, swap) = app.execute(&whale, &quote, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{swap}");
    assert_eq!(app.balance(&AccountId::wallet(&whale), Token::Jto).await, 900 * JTO);
    assert_books_balance(&app.ledger).await;
}
