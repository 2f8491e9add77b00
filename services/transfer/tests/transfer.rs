//! The transfer service over real HTTP against a real database.

use std::collections::HashSet;

use mongodb::Database;
use reqwest::StatusCode;
use serde_json::{Value, json};
use solstice_ledger::{AccountId, Ledger};
use solstice_testkit::{assert_books_balance, new_user, signed};
use solstice_types::{Token, WalletAddress};

const SOL: u64 = 1_000_000_000;

struct TestApp {
    base: String,
    ledger: Ledger,
    database: Database,
}

async fn spawn_app() -> TestApp {
    let (client, database) = solstice_testkit::fresh_database().await;
    let config = solstice_transfer::Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    let app = solstice_transfer::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp { base, ledger: Ledger::new(client, &database), database }
}

impl TestApp {
    async fn user(&self, amounts: &[(Token, u64)]) -> WalletAddress {
        new_user(&self.database, &self.ledger, amounts).await
    }

    async fn send(&self, from: &WalletAddress, body: Value) -> (StatusCode, Value) {
        signed("POST", &format!("{}/v1/transfers", self.base), from, Some(body)).await
    }

    async fn get(&self, wallet: &WalletAddress, path: &str) -> (StatusCode, Value) {
        signed("GET", &format!("{}{path}", self.base), wallet, None).await
    }

    async fn balance(&self, wallet: &WalletAddress, token: Token) -> u64 {
        self.ledger.balance(&AccountId::wallet(wallet), token).await.unwrap().base_units()
    }
}

fn key() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

fn transfer(to: &WalletAddress, token: &str, amount: &str) -> Value {
    json!({ "to": to.to_string(), "token": token, "amount": amount, "idempotency_key": key() })
}

#[tokio::test]
async fn a_transfer_moves_the_amount_and_both_sides_see_it() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL), (Token::Usdc, 50_000_000)]).await;
    let bob = app.user(&[]).await;
    let mut body = transfer(&bob, "SOL", "2.5");
    body["memo"] = json!("  lunch 🍜 ");
    let (status, sent) = app.send(&alice, body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert!(sent["reference"].as_str().unwrap().starts_with("TRF-"));
    assert_eq!(sent["direction"], "sent");
    assert_eq!(sent["amount"], 2_500_000_000u64);
    assert_eq!(sent["memo"], "lunch 🍜");
    assert_eq!(app.balance(&alice, Token::Sol).await, 7_500_000_000);
    assert_eq!(app.balance(&bob, Token::Sol).await, 2_500_000_000);

    let path = format!("/v1/transfers/{}", sent["reference"].as_str().unwrap());
    let (status, seen_by_bob) = app.get(&bob, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen_by_bob["direction"], "received");
    assert_eq!(seen_by_bob["from"], alice.to_string());
    let (_, bobs) = app.get(&bob, "/v1/transfers").await;
    assert_eq!(bobs["transfers"][0]["reference"], sent["reference"]);
    let (_, alices) = app.get(&alice, "/v1/transfers").await;
    assert_eq!(alices["transfers"][0]["direction"], "sent");
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn every_bad_request_is_refused_clearly_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL), (Token::Usdc, 1_000_000)]).await;
    let bob = app.user(&[]).await;
    let stranger = WalletAddress::from_public_key(&[9; 32]);
    let cases = [
        (transfer(&bob, "SOL", "1").tap(|b| b["to"] = json!("0OIl-not-base58")), 400, "invalid_address"),
        (transfer(&stranger, "SOL", "0.1"), 422, "unknown_recipient"),
        (transfer(&alice, "SOL", "0.1"), 400, "invalid_input"),
        (transfer(&bob, "SOL", "0"), 400, "invalid_amount"),
        (transfer(&bob, "USDC", "0.0000001"), 400, "invalid_amount"),
        (transfer(&bob, "DOGE", "1"), 400, "unknown_token"),
        (transfer(&bob, "SOL", "1.000000001"), 422, "insufficient_funds"),
        (transfer(&bob, "JUP", "1"), 422, "insufficient_funds"),
        (transfer(&bob, "SOL", "1").tap(|b| b["memo"] = json!("x".repeat(141))), 400, "invalid_input"),
        (transfer(&bob, "SOL", "1").tap(|b| b["idempotency_key"] = json!("no")), 400, "invalid_input"),
        (json!({ "to": bob.to_string() }), 400, "invalid_input"),
    ];
    for (body, status, code) in cases {
        let (got, error) = app.send(&alice, body.clone()).await;
        assert_eq!((got.as_u16(), error["code"].as_str().unwrap()), (status, code), "{body} -> {error}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let (_, error) = app.send(&alice, transfer(&bob, "USDC", "0.0000001")).await;
    assert_eq!(error["message"], "USDC has at most 6 decimal places.");
    assert_eq!(app.balance(&alice, Token::Sol).await, SOL);
    assert_eq!(app.balance(&bob, Token::Sol).await, 0);
    let (_, history) = app.get(&alice, "/v1/transfers").await;
    assert_eq!(history["transfers"], json!([]));
}

/// A memo that reverses or hides text (U+202E shows "rent" as "tner") would mislead whoever
/// reads it: refused with a sentence that says why, and nothing moves.
#[tokio::test]
async fn a_memo_with_invisible_or_direction_changing_characters_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let bob = app.user(&[]).await;
    for memo in ["refund \u{202E}tner", "pay\u{200B}ment", "\u{2066}isolated\u{2069}", "\u{FEFF}bom", "rlm\u{200F}"] {
        let mut body = transfer(&bob, "SOL", "0.1");
        body["memo"] = json!(memo);
        let (status, error) = app.send(&alice, body).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{memo:?}");
        assert_eq!(error["message"], "The memo contains invisible or direction-changing characters.");
    }
    assert_eq!(app.balance(&alice, Token::Sol).await, SOL);
    assert_eq!(app.balance(&bob, Token::Sol).await, 0);
    let (_, history) = app.get(&alice, "/v1/transfers").await;
    assert_eq!(history["transfers"], json!([]));
}

#[tokio::test]
async fn a_retried_send_moves_money_once_and_returns_the_first_transfer() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let bob = app.user(&[]).await;
    let body = transfer(&bob, "SOL", "1");
    let (first_status, first) = app.send(&alice, body.clone()).await;
    let (again_status, again) = app.send(&alice, body.clone()).await;
    assert_eq!((first_status, again_status), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(first, again);
    assert_eq!(app.balance(&bob, Token::Sol).await, SOL);
    // The same key for a different transfer is refused, not applied.
    let mut changed = body;
    changed["amount"] = json!("2");
    let (status, error) = app.send(&alice, changed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "idempotency_conflict");
    assert_eq!(app.balance(&bob, Token::Sol).await, SOL);
}

/// An idempotency key stands for one whole transfer: resent with another memo or recipient it
/// is refused (not answered with the first transfer as if it were the one asked for).
#[tokio::test]
async fn a_key_reused_with_another_memo_or_recipient_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let bob = app.user(&[]).await;
    let carol = app.user(&[]).await;
    let mut body = transfer(&bob, "SOL", "1");
    body["memo"] = json!("rent");
    let (status, first) = app.send(&alice, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut other_memo = body.clone();
    other_memo["memo"] = json!("dinner");
    let mut no_memo = body.clone();
    no_memo["memo"] = json!(null);
    let mut other_recipient = body.clone();
    other_recipient["to"] = json!(carol.to_string());
    for changed in [other_memo, no_memo, other_recipient] {
        let (status, error) = app.send(&alice, changed.clone()).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{changed}");
        assert_eq!(error["message"], "This request was already submitted with different details. Start a new one.");
    }
    // A true retry still gets the first transfer.
    let (status, again) = app.send(&alice, body).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert_eq!(app.balance(&alice, Token::Sol).await, 9 * SOL);
    assert_eq!(app.balance(&bob, Token::Sol).await, SOL);
    assert_eq!(app.balance(&carol, Token::Sol).await, 0);
    let (_, history) = app.get(&alice, "/v1/transfers").await;
    let memos: Vec<&Value> = history["transfers"].as_array().unwrap().iter().map(|t| &t["memo"]).collect();
    assert_eq!(memos, [&json!("rent")]);
}

#[tokio::test]
async fn nobody_opens_someone_elses_transfer() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    let bob = app.user(&[]).await;
    let eve = app.user(&[]).await;
    let (_, sent) = app.send(&alice, transfer(&bob, "SOL", "0.5")).await;
    let reference = sent["reference"].as_str().unwrap();
    let (status, error) = app.get(&eve, &format!("/v1/transfers/{reference}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["message"], format!("You have no transfer {reference}."));
    let (_, eves) = app.get(&eve, "/v1/transfers").await;
    assert_eq!(eves["transfers"], json!([]));
    let (status, _) = app.get(&alice, "/v1/transfers/not-a-reference").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A well-formed reference of another kind is just not found.
    let (status, _) = app.get(&alice, "/v1/transfers/SWP-0000000000-000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn history_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, 10 * SOL)]).await;
    let bob = app.user(&[]).await;
    let mut sent = Vec::new();
    for n in 1..=7 {
        let (_, transfer) = app.send(&alice, transfer(&bob, "SOL", &format!("0.{n}"))).await;
        sent.push(transfer["reference"].as_str().unwrap().to_owned());
    }
    sent.reverse();
    let mut seen = Vec::new();
    let mut path = "/v1/transfers?limit=3".to_owned();
    loop {
        let (status, page) = app.get(&bob, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["transfers"].as_array().unwrap().iter().map(|t| t["reference"].as_str().unwrap().to_owned()));
        match page["next_before"].as_str() {
            Some(next) => path = format!("/v1/transfers?limit=3&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, sent);
    let (status, _) = app.get(&bob, "/v1/transfers?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn recipients_are_looked_up_before_sending() {
    let app = spawn_app().await;
    let alice = app.user(&[]).await;
    let bob = app.user(&[]).await;
    let (status, found) = app.get(&alice, &format!("/v1/recipients/{bob}")).await;
    assert_eq!((status, found["address"].as_str()), (StatusCode::OK, Some(bob.as_str())));
    let stranger = WalletAddress::from_public_key(&[7; 32]);
    assert_eq!(app.get(&alice, &format!("/v1/recipients/{stranger}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&alice, "/v1/recipients/xyz0").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_wallet_refused_as_unknown_can_be_paid_once_it_exists_and_stays_payable() {
    let app = spawn_app().await;
    let alice = app.user(&[(Token::Sol, SOL)]).await;
    // An address nobody holds yet: refused, nothing moves.
    let newcomer = WalletAddress::from_public_key(&rand::random::<[u8; 32]>());
    let (status, error) = app.send(&alice, transfer(&newcomer, "SOL", "0.1")).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_recipient")));
    assert_eq!(app.get(&alice, &format!("/v1/recipients/{newcomer}")).await.0, StatusCode::NOT_FOUND);
    // It signs up: the refusal was not remembered.
    let user = solstice_accounts::UserDoc::new(&newcomer, "-".to_owned());
    app.database.collection(solstice_accounts::USERS).insert_one(user).await.unwrap();
    assert_eq!(app.get(&alice, &format!("/v1/recipients/{newcomer}")).await.0, StatusCode::OK);
    for _ in 0..3 {
        let (status, sent) = app.send(&alice, transfer(&newcomer, "SOL", "0.1")).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
    }
    assert_eq!(app.balance(&newcomer, Token::Sol).await, 3 * SOL / 10);
    assert_eq!(app.balance(&alice, Token::Sol).await, 7 * SOL / 10);
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let app = spawn_app().await;
    let response = reqwest::Client::new().get(format!("{}/v1/transfers", app.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Hundreds of concurrent transfers in every direction between a few wallets, each sent twice
/// (a retry racing its original): every key applies once, the books balance, nothing is negative.
#[tokio::test]
async fn concurrent_transfers_with_retries_conserve_every_token() {
    let app = spawn_app().await;
    let mut wallets = Vec::new();
    for _ in 0..4 {
        wallets.push(app.user(&[(Token::Sol, 5 * SOL), (Token::Usdc, 500_000_000)]).await);
    }
    let before: u64 = sum(&app, &wallets, Token::Sol).await;
    let mut calls = Vec::new();
    for n in 0..200usize {
        let from = wallets[n % 4].clone();
        let to = wallets[(n / 4 + n + 1) % 4].clone();
        let to = if to == from { wallets[(n + 1) % 4].clone() } else { to };
        let token = if n % 3 == 0 { "USDC" } else { "SOL" };
        // Some are larger than a wallet can pay once others have drained it.
        let amount = if n % 7 == 0 { "3" } else { "0.25" };
        let body = transfer(&to, token, amount);
        for _ in 0..2 {
            let (app_base, from, body) = (app.base.clone(), from.clone(), body.clone());
            calls.push(tokio::spawn(async move {
                // A busy answer (503) is retried with the same key, as the host does.
                let url = format!("{app_base}/v1/transfers");
                let (status, value) = solstice_testkit::signed_retrying_busy(&url, &from, body.clone()).await;
                (body["idempotency_key"].as_str().unwrap().to_owned(), status, value)
            }));
        }
    }
    let mut applied: HashSet<String> = HashSet::new();
    let mut references: std::collections::HashMap<String, String> = Default::default();
    for call in futures::future::join_all(calls).await {
        let (key, status, value) = call.unwrap();
        match status.as_u16() {
            200 | 201 => {
                let reference = value["reference"].as_str().unwrap().to_owned();
                // The original and its retry report the same transfer.
                if let Some(seen) = references.insert(key.clone(), reference.clone()) {
                    assert_eq!(seen, reference);
                }
                applied.insert(reference);
            }
            422 => assert_eq!(value["code"], "insufficient_funds", "{value}"),
            other => panic!("unexpected {other}: {value}"),
        }
    }
    assert!(applied.len() > 100, "most transfers went through: {}", applied.len());
    // Each applied key is exactly one record.
    let mut recorded = HashSet::new();
    for wallet in &wallets {
        let mut path = "/v1/transfers?limit=100".to_owned();
        loop {
            let (_, page) = app.get(wallet, &path).await;
            for transfer in page["transfers"].as_array().unwrap() {
                recorded.insert(transfer["reference"].as_str().unwrap().to_owned());
            }
            match page["next_before"].as_str() {
                Some(next) => path = format!("/v1/transfers?limit=100&before={next}"),
                None => break,
            }
        }
    }
    assert_eq!(recorded, applied);
    assert_eq!(sum(&app, &wallets, Token::Sol).await, before);
    assert_books_balance(&app.ledger).await;
}

async fn sum(app: &TestApp, wallets: &[WalletAddress], token: Token) -> u64 {
    let mut total = 0;
    for wallet in wallets {
        total += app.balance(wallet, token).await;
    }
    total
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
