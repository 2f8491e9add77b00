//! The stake service over real HTTP against a real database, with two-second epochs.

use std::time::Duration;

use mongodb::{Database, bson::doc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use solstice_ledger::{AccountId, IdempotencyKey, Ledger, Leg, SystemAccount, TransactionRequest};
use solstice_stake::epoch_reward;
use solstice_testkit::{assert_books_balance, new_user, signed};
use solstice_types::{Amount, ReferenceKind, Token, WalletAddress};

const SOL: u64 = 1_000_000_000;

struct TestApp {
    base: String,
    ledger: Ledger,
    database: Database,
}

async fn start(database: &Database) -> String {
    start_configured(database, |_| {}).await
}

async fn start_configured(database: &Database, configure: impl FnOnce(&mut solstice_stake::Config)) -> String {
    let mut config = solstice_stake::Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    configure(&mut config);
    let app = solstice_stake::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

async fn spawn_app() -> TestApp {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start(&database).await;
    TestApp { base, ledger: Ledger::new(client, &database), database }
}

fn key() -> String {
    format!("test-{:016x}", rand::random::<u64>())
}

impl TestApp {
    async fn user(&self, sol: u64) -> WalletAddress {
        new_user(&self.database, &self.ledger, &[(Token::Sol, sol)]).await
    }

    async fn post(&self, wallet: &WalletAddress, path: &str, body: Value) -> (StatusCode, Value) {
        signed("POST", &format!("{}{path}", self.base), wallet, Some(body)).await
    }

    async fn stake(&self, wallet: &WalletAddress, validator: &str, amount: &str) -> (StatusCode, Value) {
        self.stake_with_key(wallet, validator, amount, &key()).await
    }

    async fn stake_with_key(
        &self,
        wallet: &WalletAddress,
        validator: &str,
        amount: &str,
        key: &str,
    ) -> (StatusCode, Value) {
        // A busy answer (503) is retried with the same key, as the host does: a slow database
        // can make a stake wait behind the reward payer's writes past the service's deadline.
        let body = json!({ "validator": validator, "amount": amount, "idempotency_key": key });
        solstice_testkit::signed_retrying_busy(&format!("{}/v1/stakes", self.base), wallet, body).await
    }

    async fn withdraw(&self, wallet: &WalletAddress, address: &str, key: &str) -> (StatusCode, Value) {
        self.post(wallet, &format!("/v1/stakes/{address}/withdraw"), json!({ "idempotency_key": key })).await
    }

    async fn accounts(&self, wallet: &WalletAddress) -> Vec<Value> {
        let (_, overview) = signed("GET", &format!("{}/v1/stakes", self.base), wallet, None).await;
        overview["accounts"].as_array().unwrap().clone()
    }

    async fn account(&self, wallet: &WalletAddress, address: &str) -> Value {
        let (_, overview) = signed("GET", &format!("{}/v1/stakes", self.base), wallet, None).await;
        overview["accounts"].as_array().unwrap().iter().find(|a| a["address"] == address).cloned().unwrap()
    }

    async fn epoch(&self, wallet: &WalletAddress) -> i64 {
        signed("GET", &format!("{}/v1/epoch", self.base), wallet, None).await.1["epoch"].as_i64().unwrap()
    }

    /// Waits until the epoch clock reaches `epoch`.
    async fn wait_for_epoch(&self, wallet: &WalletAddress, epoch: i64) {
        while self.epoch(wallet).await < epoch {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn sol(&self, account: &AccountId) -> u64 {
        self.ledger.balance(account, Token::Sol).await.unwrap().base_units()
    }

    /// Every epoch's reward of each of `stakes` (90 SOL each, by wallet and stake account) that
    /// has ended is paid exactly once (the last may still be in flight), none missed, in the
    /// compounded amounts.
    async fn assert_each_reward_paid_once(&self, stakes: &[(WalletAddress, String)]) {
        let rewards = self.database.collection::<mongodb::bson::Document>(solstice_ledger::TRANSACTIONS);
        let stored = self.database.collection::<mongodb::bson::Document>("stake_accounts");
        for (wallet, address) in stakes {
            // The epochs around the reading: a reward may be paid while it is made.
            let before = self.epoch(wallet).await;
            let account = self.account(wallet, address).await;
            let state = stored.find_one(doc! { "_id": address }).await.unwrap().expect("the stake account is stored");
            let after = self.epoch(wallet).await;
            let activation = state.get_i64("activation_epoch").unwrap();
            // The account's amount and its last rewarded epoch are written together with each
            // reward's record: read from one document, they agree.
            let paid = state.get_i64("last_rewarded_epoch").map_or(0, |last| last - activation + 1);
            assert!(
                paid >= before - activation - 1 && paid <= after - activation,
                "{paid} rewards between epochs {before} and {after}"
            );
            for epoch in activation..activation + paid {
                let once = doc! { "details.stake_account": address, "details.epoch": epoch };
                assert_eq!(rewards.count_documents(once).await.unwrap(), 1, "epoch {epoch} paid exactly once");
            }
            let validator = &account["validator"];
            let (apy, commission) =
                (validator["apy_bps"].as_u64().unwrap() as u32, validator["commission_bps"].as_u64().unwrap() as u32);
            let amount = state.get_i64("amount").unwrap() as u64;
            assert_eq!(amount, compounded(90 * SOL, apy, commission, paid));
        }
    }
}

/// What `principal` staked with a validator earns over `epochs` two-second epochs, compounded.
fn compounded(principal: u64, apy_bps: u32, commission_bps: u32, epochs: i64) -> u64 {
    let mut amount = Amount::from_base_units(principal).unwrap();
    for _ in 0..epochs {
        amount = amount.checked_add(epoch_reward(amount, apy_bps, commission_bps, 2)).unwrap();
    }
    amount.base_units()
}

#[tokio::test]
async fn a_stake_activates_earns_every_epoch_deactivates_and_is_withdrawn() {
    let app = spawn_app().await;
    let alice = app.user(200 * SOL).await;
    let wallet = AccountId::wallet(&alice);
    let pool = AccountId::System(SystemAccount::StakePool);
    let (status, staked) = app.stake(&alice, "solstice", "150").await;
    assert_eq!(status, StatusCode::CREATED, "{staked}");
    assert_eq!(staked["state"], "activating");
    assert!(staked["reference"].as_str().unwrap().starts_with("STK-"));
    let address = staked["address"].as_str().unwrap().to_owned();
    let activation = staked["activation_epoch"].as_i64().unwrap();
    assert_eq!(app.sol(&wallet).await, 50 * SOL);
    assert_eq!(app.sol(&pool).await, 150 * SOL);

    // Nothing can be withdrawn while it is staked.
    let withdraw = format!("/v1/stakes/{address}/withdraw");
    let (status, error) = app.post(&alice, &withdraw, json!({ "idempotency_key": key() })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");

    app.wait_for_epoch(&alice, activation).await;
    assert_eq!(app.account(&alice, &address).await["state"], "active");
    // Two whole epochs of rewards, compounded, commission (5 %) deducted from the 7 %.
    app.wait_for_epoch(&alice, activation + 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, unstaked) = app.post(&alice, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{unstaked}");
    assert_eq!(unstaked["state"], "deactivating");
    let (status, again) = app.post(&alice, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
    assert_eq!((status, again["message"].as_str()), (StatusCode::CONFLICT, Some("This stake is already unstaked.")));
    let (status, error) = app.post(&alice, &withdraw, json!({ "idempotency_key": key() })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error["message"].as_str().unwrap().contains("still deactivating"), "{error}");

    let deactivation = unstaked["deactivation_epoch"].as_i64().unwrap();
    app.wait_for_epoch(&alice, deactivation).await;
    let earning_epochs = deactivation - activation;
    let expected = compounded(150 * SOL, 700, 500, earning_epochs);
    let retried = key();
    let (status, withdrawn) = app.post(&alice, &withdraw, json!({ "idempotency_key": retried })).await;
    assert_eq!(status, StatusCode::CREATED, "{withdrawn}");
    assert_eq!(withdrawn["state"], "withdrawn");
    assert_eq!(withdrawn["amount"].as_u64().unwrap(), expected, "{earning_epochs} epochs of rewards");
    assert!(withdrawn["rewards"].as_u64().unwrap() > 0);
    assert_eq!(app.sol(&wallet).await, 50 * SOL + expected);
    // A retry returns the withdrawal; a second withdrawal is refused; nothing moves twice.
    let (status, _) = app.post(&alice, &withdraw, json!({ "idempotency_key": retried })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.post(&alice, &withdraw, json!({ "idempotency_key": key() })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.sol(&wallet).await, 50 * SOL + expected);
    assert_eq!(app.sol(&pool).await, 0);
    assert_books_balance(&app.ledger).await;
}

#[tokio::test]
async fn bad_stake_requests_are_refused_and_move_nothing() {
    let app = spawn_app().await;
    let alice = app.user(10 * SOL).await;
    let eve = app.user(10 * SOL).await;
    for (validator, amount, status, message) in [
        ("solstice", "11", 422, "Your SOL balance is too low to stake this much."),
        ("solstice", "0.001", 400, "Stake at least 0.01 SOL."),
        ("solstice", "0", 400, "Enter an amount greater than zero."),
        ("nobody", "1", 400, "Choose one of the listed validators."),
    ] {
        let (got, error) = app.stake(&alice, validator, amount).await;
        assert_eq!((got.as_u16(), error["message"].as_str().unwrap()), (status, message));
    }
    assert_eq!(app.sol(&AccountId::wallet(&alice)).await, 10 * SOL);

    let (_, staked) = app.stake(&alice, "meridian", "1").await;
    let address = staked["address"].as_str().unwrap();
    // Someone else's stake account does not exist for them.
    let (status, _) = app.post(&eve, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.post(&eve, &format!("/v1/stakes/{address}/withdraw"), json!({ "idempotency_key": key() })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, overview) = signed("GET", &format!("{}/v1/stakes", app.base), &eve, None).await;
    assert_eq!(overview["accounts"], json!([]));
    assert_eq!(overview["validators"].as_array().unwrap().len(), 4);
}

/// Two replicas pay rewards over several epochs: every (account, epoch) reward exactly once,
/// none missed, and the amounts are exactly the compounded rewards.
#[tokio::test]
async fn two_replicas_pay_each_reward_exactly_once() {
    let app = spawn_app().await;
    let second = start(&app.database).await;
    let mut stakes = Vec::new();
    let mut start_epoch = None;
    for n in 0..6 {
        let wallet = app.user(100 * SOL).await;
        let validator = ["solstice", "aurora", "meridian"][n % 3];
        let (status, staked) = app.stake(&wallet, validator, "90").await;
        assert_eq!(status, StatusCode::CREATED);
        start_epoch = start_epoch.or(staked["activation_epoch"].as_i64());
        stakes.push((wallet, staked["address"].as_str().unwrap().to_owned()));
    }
    app.wait_for_epoch(&stakes[0].0, start_epoch.unwrap() + 4).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    app.assert_each_reward_paid_once(&stakes).await;
    let _ = second;
    assert_books_balance(&app.ledger).await;
}

/// A stake's idempotency key stands for that stake: with another validator it is refused, not
/// answered with the first stake as if it were the one asked for.
#[tokio::test]
async fn a_stake_key_reused_for_another_validator_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(10 * SOL).await;
    let reused = key();
    let (status, first) = app.stake_with_key(&alice, "solstice", "1", &reused).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, error) = app.stake_with_key(&alice, "aurora", "1", &reused).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{error}");
    assert_eq!(error["message"], "This request was already submitted with different details. Start a new one.");
    // A true retry still gets the first stake account.
    let (status, again) = app.stake_with_key(&alice, "solstice", "1", &reused).await;
    assert_eq!((status, &again["address"]), (StatusCode::OK, &first["address"]));
    assert_eq!(app.accounts(&alice).await.len(), 1);
    assert_eq!(app.sol(&AccountId::wallet(&alice)).await, 9 * SOL);
    assert_books_balance(&app.ledger).await;
}

/// Withdrawing stake account #2 with the key of #1's withdrawal is refused and withdraws
/// nothing (it used to answer 200 with #2 untouched); #2 can still be withdrawn with its own key.
#[tokio::test]
async fn a_withdrawal_key_reused_for_another_stake_account_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(10 * SOL).await;
    let wallet = AccountId::wallet(&alice);
    let mut addresses = Vec::new();
    for _ in 0..2 {
        let (_, staked) = app.stake(&alice, "meridian", "1").await;
        let address = staked["address"].as_str().unwrap().to_owned();
        let (status, unstaked) = app.post(&alice, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{unstaked}");
        addresses.push((address, unstaked["deactivation_epoch"].as_i64().unwrap()));
    }
    app.wait_for_epoch(&alice, addresses.iter().map(|(_, e)| *e).max().unwrap()).await;
    // On a slow machine a stake may have been active for an epoch before its unstake arrived,
    // and earned a reward: each withdrawal returns its 1 SOL and whatever it earned.
    let reused = key();
    let (status, first) = app.withdraw(&alice, &addresses[0].0, &reused).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let after_first = app.sol(&wallet).await;
    assert!(after_first >= 9 * SOL, "the first account's stake came back: {after_first}");
    let (status, error) = app.withdraw(&alice, &addresses[1].0, &reused).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{error}");
    assert_eq!(app.sol(&wallet).await, after_first, "nothing moved");
    assert_eq!(app.account(&alice, &addresses[1].0).await["state"], "inactive");
    // A true retry still answers with the first withdrawal; the other account has its own key.
    let (status, again) = app.withdraw(&alice, &addresses[0].0, &reused).await;
    assert_eq!((status, &again["address"], &again["state"]), (StatusCode::OK, &first["address"], &json!("withdrawn")));
    assert_eq!(app.withdraw(&alice, &addresses[1].0, &key()).await.0, StatusCode::CREATED);
    assert!(app.sol(&wallet).await >= after_first + SOL, "the second account's stake came back");
    assert_books_balance(&app.ledger).await;
}

/// The host retries an unstake whose answer was cut off with the same key: the retry gets the
/// first answer instead of "already unstaked"; another key still gets that clear error, and the
/// key of one account's unstake cannot unstake another.
#[tokio::test]
async fn a_retried_unstake_returns_the_first_result_and_another_key_is_refused() {
    let app = spawn_app().await;
    let alice = app.user(10 * SOL).await;
    let (_, first) = app.stake(&alice, "solstice", "1").await;
    let (_, second) = app.stake(&alice, "solstice", "1").await;
    let unstake = |address: &Value| format!("/v1/stakes/{}/unstake", address["address"].as_str().unwrap());
    let retried = key();
    let (status, unstaked) = app.post(&alice, &unstake(&first), json!({ "idempotency_key": retried })).await;
    assert_eq!((status, &unstaked["state"]), (StatusCode::OK, &json!("deactivating")), "{unstaked}");
    let (status, again) = app.post(&alice, &unstake(&first), json!({ "idempotency_key": retried })).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["address"], &again["deactivation_epoch"]),
        (&unstaked["address"], &unstaked["deactivation_epoch"])
    );
    let (status, error) = app.post(&alice, &unstake(&first), json!({ "idempotency_key": key() })).await;
    assert_eq!((status, error["message"].as_str()), (StatusCode::CONFLICT, Some("This stake is already unstaked.")));
    let (status, error) = app.post(&alice, &unstake(&second), json!({ "idempotency_key": retried })).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{error}");
    let untouched = app.account(&alice, second["address"].as_str().unwrap()).await;
    assert!(untouched["deactivation_epoch"].is_null(), "{untouched}");
    // A caller that sends no key can still unstake, once.
    assert_eq!(app.post(&alice, &unstake(&second), json!({})).await.0, StatusCode::OK);
    assert_eq!(app.post(&alice, &unstake(&second), json!({})).await.0, StatusCode::CONFLICT);
}

/// Moves all of one system account's SOL to another, as a test's stand-in for a pool that ran
/// dry (or was refilled).
async fn move_all(ledger: &Ledger, from: SystemAccount, to: SystemAccount) -> u64 {
    let (from, to) = (AccountId::System(from), AccountId::System(to));
    let amount = ledger.balance(&from, Token::Sol).await.unwrap();
    let key = IdempotencyKey::new(format!("test-move-{:016x}", rand::random::<u64>())).unwrap();
    let leg = Leg { from, to, token: Token::Sol, amount };
    ledger.apply(TransactionRequest::new(ReferenceKind::Transfer, key, vec![leg])).await.unwrap();
    amount.base_units()
}

/// With the rewards pool empty, a withdrawal still pays the principal back at once; the
/// rewards the account earned stay owed on it and reach the wallet once the pool can pay.
#[tokio::test]
async fn a_withdrawal_returns_the_principal_when_the_rewards_pool_is_empty_and_the_rewards_follow() {
    let app = spawn_app().await;
    let alice = app.user(10 * SOL).await;
    let wallet = AccountId::wallet(&alice);
    let (_, staked) = app.stake(&alice, "meridian", "5").await;
    let address = staked["address"].as_str().unwrap().to_owned();
    move_all(&app.ledger, SystemAccount::StakeRewards, SystemAccount::Treasury).await;
    let activation = staked["activation_epoch"].as_i64().unwrap();
    app.wait_for_epoch(&alice, activation + 2).await;
    let (status, unstaked) = app.post(&alice, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{unstaked}");
    let deactivation = unstaked["deactivation_epoch"].as_i64().unwrap();
    app.wait_for_epoch(&alice, deactivation).await;

    let (status, withdrawn) = app.withdraw(&alice, &address, &key()).await;
    assert_eq!(status, StatusCode::CREATED, "{withdrawn}");
    assert_eq!(withdrawn["state"], "withdrawn");
    assert_eq!(app.sol(&wallet).await, 10 * SOL, "the principal is back");
    let expected = compounded(5 * SOL, 650, 0, deactivation - activation);
    assert_eq!(withdrawn["rewards_owed"].as_u64().unwrap(), expected - 5 * SOL, "{withdrawn}");
    assert_eq!(app.sol(&AccountId::System(SystemAccount::StakePool)).await, 0);
    assert_books_balance(&app.ledger).await;

    // The pool is funded again: the owed rewards are paid to the wallet, each epoch's once.
    move_all(&app.ledger, SystemAccount::Treasury, SystemAccount::StakeRewards).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.account(&alice, &address).await["rewards_owed"] != 0 {
        assert!(std::time::Instant::now() < deadline, "the owed rewards were not paid");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let paid = app.account(&alice, &address).await;
    assert_eq!((paid["state"].as_str(), paid["amount"].as_u64()), (Some("withdrawn"), Some(expected)), "{paid}");
    assert_eq!(app.sol(&wallet).await, 5 * SOL + expected);
    assert_books_balance(&app.ledger).await;
}

/// A wallet holds at most 100 stake accounts not yet withdrawn: the next stake is refused with
/// a sentence that says what to do and moves nothing; a retry of an accepted stake is still
/// answered, and withdrawing one makes room again.
#[tokio::test]
async fn a_stake_past_the_open_account_limit_is_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let alice = app.user(2 * SOL).await;
    let wallet = AccountId::wallet(&alice);
    let mut last = (key(), Value::Null);
    for _ in 0..100 {
        let key = key();
        let (status, staked) = app.stake_with_key(&alice, "meridian", "0.01", &key).await;
        assert_eq!(status, StatusCode::CREATED, "{staked}");
        last = (key, staked);
    }
    assert_eq!(app.sol(&wallet).await, SOL);
    let (status, error) = app.stake(&alice, "meridian", "0.01").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{error}");
    assert_eq!(error["message"], "You have 100 open stake accounts. Withdraw some before opening more.");
    assert_eq!(app.sol(&wallet).await, SOL, "nothing moved");
    assert_eq!(app.accounts(&alice).await.len(), 100);
    // The last accepted stake, sent again, is answered as before.
    let (status, again) = app.stake_with_key(&alice, "meridian", "0.01", &last.0).await;
    assert_eq!((status, &again["address"]), (StatusCode::OK, &last.1["address"]));

    let address = last.1["address"].as_str().unwrap();
    let (_, unstaked) = app.post(&alice, &format!("/v1/stakes/{address}/unstake"), json!({})).await;
    app.wait_for_epoch(&alice, unstaked["deactivation_epoch"].as_i64().unwrap()).await;
    assert_eq!(app.withdraw(&alice, address, &key()).await.0, StatusCode::CREATED);
    assert_eq!(app.stake(&alice, "meridian", "0.01").await.0, StatusCode::CREATED);
    assert_books_balance(&app.ledger).await;
}

/// A burst of simultaneous stakes from one wallet cannot pass the open-account limit together,
/// and the stakes refused move nothing.
#[tokio::test]
async fn simultaneous_stakes_cannot_pass_the_open_account_limit_together() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let base = start_configured(&database, |config| config.max_open_accounts = 3).await;
    let app = TestApp { base, ledger: Ledger::new(client, &database), database };
    let alice = app.user(2 * SOL).await;
    let burst: Vec<_> = (0..10)
        .map(|_| {
            let (base, alice) = (app.base.clone(), alice.clone());
            tokio::spawn(async move {
                let body = json!({ "validator": "meridian", "amount": "0.01", "idempotency_key": key() });
                signed("POST", &format!("{base}/v1/stakes"), &alice, Some(body)).await.0
            })
        })
        .collect();
    let mut created = 0_u64;
    for request in burst {
        let status = request.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{status}");
        created += u64::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 3, "exactly the limit");
    assert_eq!(app.accounts(&alice).await.len(), 3);
    assert_eq!(
        app.sol(&AccountId::wallet(&alice)).await,
        2 * SOL - 3 * SOL / 100,
        "only the accepted stakes moved SOL"
    );
    assert_books_balance(&app.ledger).await;
}

/// One unstake key unstakes one account, even when sent for two at the same moment.
#[tokio::test]
async fn one_unstake_key_sent_for_two_accounts_at_once_unstakes_one() {
    let app = spawn_app().await;
    let alice = app.user(2 * SOL).await;
    let (_, first) = app.stake(&alice, "meridian", "0.5").await;
    let (_, second) = app.stake(&alice, "meridian", "0.5").await;
    let shared = key();
    let send = |address: String| {
        let (base, alice, shared) = (app.base.clone(), alice.clone(), shared.clone());
        tokio::spawn(async move {
            let url = format!("{base}/v1/stakes/{address}/unstake");
            signed("POST", &url, &alice, Some(json!({ "idempotency_key": shared }))).await.0
        })
    };
    let a = send(first["address"].as_str().unwrap().to_owned());
    let b = send(second["address"].as_str().unwrap().to_owned());
    let mut statuses = [a.await.unwrap(), b.await.unwrap()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    // (Deactivating or, if an epoch ended meanwhile, inactive: either way, unstaked.)
    let unstaked = app.accounts(&alice).await.iter().filter(|a| !a["deactivation_epoch"].is_null()).count();
    assert_eq!(unstaked, 1);
}

/// A stake service binary running as a process of its own, killed (SIGKILL) when dropped.
struct Replica {
    process: std::process::Child,
    base: String,
}

impl Replica {
    fn start(database: &Database) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = std::process::Command::new(env!("CARGO_BIN_EXE_solstice-stake"))
            .env("STAKE_ADDR", format!("127.0.0.1:{port}"))
            .env("MONGODB_URI", solstice_testkit::mongodb_uri())
            .env("SOLSTICE_DATABASE", database.name())
            .env("SOLSTICE_TRUSTED_CALLERS", solstice_testkit::host_key().trusted_entry())
            .env("STAKE_EPOCH_SECONDS", "2")
            .env("STAKE_REWARD_POLL_MS", "100")
            .env("STAKE_REWARD_LEASE_MS", "1000")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the stake binary starts");
        Replica { process, base: format!("http://127.0.0.1:{port}") }
    }

    async fn wait_until_listening(&self) {
        let addr = self.base.trim_start_matches("http://").to_owned();
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the stake replica at {addr} never listened");
    }

    /// Whether this process holds the lease whose holder is `holder` (holder names carry the
    /// process id).
    fn holds(&self, holder: &str) -> bool {
        holder.contains(&format!("-{}-", self.process.id()))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The reward payer's lease: its holder and term.
async fn payer_lease(database: &Database) -> Option<(String, i64)> {
    let lease = database
        .collection::<mongodb::bson::Document>("stake_leases")
        .find_one(doc! { "_id": "reward_payer" })
        .await
        .unwrap()?;
    Some((lease.get_str("holder").unwrap().to_owned(), lease.get_i64("term").unwrap()))
}

/// Two replicas as separate processes: one holds the reward payer's lease and pays; it is
/// killed with SIGKILL (its lease not released) while it is paying an epoch's rewards. The
/// other takes the lease over, finishes that epoch and goes on, and every reward of every
/// account is still paid exactly once, in the compounded amounts, with the books balanced.
#[tokio::test]
async fn a_reward_payer_killed_mid_epoch_is_replaced_and_every_reward_is_paid_exactly_once() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.unwrap();
    let mut replicas = [Replica::start(&database), Replica::start(&database)];
    for replica in &replicas {
        replica.wait_until_listening().await;
    }
    let app = TestApp { base: replicas[0].base.clone(), ledger, database: database.clone() };
    let mut stakes = Vec::new();
    for n in 0..16 {
        let wallet = app.user(100 * SOL).await;
        let (status, staked) = app.stake(&wallet, ["solstice", "aurora", "meridian"][n % 3], "90").await;
        assert_eq!(status, StatusCode::CREATED, "{staked}");
        stakes.push((wallet, staked["address"].as_str().unwrap().to_owned()));
    }
    // Wait for an epoch boundary after the stakes activated, then kill the payer as soon as it
    // has paid some of that epoch's rewards and before it has paid them all.
    let rewards = database.collection::<mongodb::bson::Document>(solstice_ledger::TRANSACTIONS);
    let (wallet, _) = &stakes[0];
    let target = app.epoch(wallet).await + 2;
    app.wait_for_epoch(wallet, target).await;
    let ended = target - 1;
    let paid_of_epoch = || rewards.count_documents(doc! { "details.action": "reward", "details.epoch": ended });
    let mut paid_at_kill = 0;
    for _ in 0..2_000 {
        paid_at_kill = paid_of_epoch().await.unwrap();
        if paid_at_kill > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (holder, term) = payer_lease(&database).await.expect("one replica took the payer's lease");
    let payer = replicas.iter().position(|replica| replica.holds(&holder)).expect("the holder is one of the replicas");
    replicas[payer].process.kill().unwrap();
    replicas[payer].process.wait().unwrap();
    let paid_after_kill = paid_of_epoch().await.unwrap();
    assert!(paid_at_kill >= 1, "the payer was paying epoch {ended} when it was killed");

    // The other replica takes over in a new term once the lease lapses, and pays on.
    let survivor = &replicas[1 - payer];
    let app = TestApp { base: survivor.base.clone(), ..app };
    let mut taken = None;
    for _ in 0..50 {
        match payer_lease(&database).await {
            Some((holder, new_term)) if survivor.holds(&holder) => {
                taken = Some(new_term);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let new_term = taken.expect("the surviving replica took the payer's lease within 5 s");
    assert!(new_term > term, "a new term: {new_term} after {term}");
    // The killed payer's open transaction (it was writing the rewards account) holds its
    // locks until the database aborts it at the end of a transaction's lifetime (60 s here,
    // as in MongoDB): until then the new payer's writes conflict and are retried.
    let killed_at = std::time::Instant::now();
    while paid_of_epoch().await.unwrap() < 16 && killed_at.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        paid_of_epoch().await.unwrap(),
        16,
        "every account's reward for epoch {ended} within 90 s (the payer had paid {paid_at_kill}, then {paid_after_kill}, when killed)"
    );
    eprintln!("epoch {ended} fully paid {:?} after the payer was killed", killed_at.elapsed());
    // The epochs that ended while the payer was blocked are paid next, one reward at a time:
    // wait until the last ended epoch is paid to everyone (the assertion below is about each
    // reward being paid exactly once, not about how fast the backlog is worked off).
    let catching_up = std::time::Instant::now();
    loop {
        let last_ended = app.epoch(wallet).await - 1;
        let paid =
            rewards.count_documents(doc! { "details.action": "reward", "details.epoch": last_ended }).await.unwrap();
        if paid == 16 || catching_up.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("the backlog was paid {:?} after that", catching_up.elapsed());
    tokio::time::sleep(Duration::from_millis(800)).await;

    app.assert_each_reward_paid_once(&stakes).await;
    assert_books_balance(&app.ledger).await;
}
