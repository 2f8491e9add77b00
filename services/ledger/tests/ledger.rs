//! The ledger against a real MongoDB-compatible server (started by `scripts/test`).

use std::sync::Arc;

use mongodb::bson::doc;
use solstice_ledger::{
    AccountId, IdempotencyKey, Ledger, LedgerError, Leg, SideWrite, SystemAccount, TransactionRequest,
};
use solstice_types::{Amount, ReferenceKind, Token, WalletAddress};

async fn ledger() -> Ledger {
    let (client, database) = solstice_testkit::fresh_database().await;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.expect("ledger initialises");
    ledger
}

fn new_wallet() -> AccountId {
    AccountId::wallet(&WalletAddress::from_public_key(&rand_bytes()))
}

fn rand_bytes() -> [u8; 32] {
    std::array::from_fn(|_| rand::random())
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::new(format!("{text}-{:08x}", rand::random::<u32>())).unwrap()
}

fn sol(units: u64) -> Amount {
    Amount::from_base_units(units).unwrap()
}

fn faucet() -> AccountId {
    AccountId::System(SystemAccount::Faucet)
}

fn pay(from: &AccountId, to: &AccountId, units: u64, key: IdempotencyKey) -> TransactionRequest {
    let leg = Leg { from: from.clone(), to: to.clone(), token: Token::Sol, amount: sol(units) };
    TransactionRequest::new(ReferenceKind::Transfer, key, vec![leg])
}

async fn assert_sound(ledger: &Ledger) {
    for audit in ledger.audit().await.unwrap() {
        assert!(audit.is_sound(), "{audit:?}");
    }
}

#[tokio::test]
async fn genesis_issues_every_token_once_and_the_books_balance() {
    let ledger = ledger().await;
    // A second start (another replica, a restart) must not issue the supply again.
    ledger.init().await.unwrap();
    let audits = ledger.audit().await.unwrap();
    assert_eq!(audits.len(), Token::ALL.len());
    for audit in &audits {
        assert!(audit.supply > 0, "{audit:?}");
        assert!(audit.is_sound(), "{audit:?}");
    }
    let faucet_sol = ledger.balance(&faucet(), Token::Sol).await.unwrap();
    assert_eq!(faucet_sol, Amount::from_whole(100_000_000, 9).unwrap());
}

#[tokio::test]
async fn a_payment_moves_exactly_its_amount_and_gets_a_reference() {
    let ledger = ledger().await;
    let alice = new_wallet();
    let before = ledger.balance(&faucet(), Token::Sol).await.unwrap();
    let receipt = ledger.apply(pay(&faucet(), &alice, 1_500_000_000, key("airdrop"))).await.unwrap();
    assert!(receipt.reference.as_str().starts_with("TRF-"));
    assert!(!receipt.replayed);
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(1_500_000_000));
    assert_eq!(ledger.balance(&faucet(), Token::Sol).await.unwrap(), before.checked_sub(sol(1_500_000_000)).unwrap());
    let found = ledger.reader().find(&receipt.reference).await.unwrap().expect("the receipt is found by reference");
    assert_eq!(found.legs, receipt.legs);
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn insufficient_funds_moves_nothing() {
    let ledger = ledger().await;
    let (alice, bob) = (new_wallet(), new_wallet());
    ledger.apply(pay(&faucet(), &alice, 100, key("fund"))).await.unwrap();
    // The first leg alone could be paid; the second cannot, so neither happens.
    let request = TransactionRequest::new(
        ReferenceKind::Transfer,
        key("too-much"),
        vec![
            Leg { from: alice.clone(), to: bob.clone(), token: Token::Sol, amount: sol(60) },
            Leg { from: alice.clone(), to: bob.clone(), token: Token::Usdc, amount: sol(1) },
        ],
    );
    let error = ledger.apply(request).await.unwrap_err();
    assert!(matches!(error, LedgerError::InsufficientFunds { token: Token::Usdc, .. }), "{error:?}");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(100));
    assert_eq!(ledger.balance(&bob, Token::Sol).await.unwrap(), Amount::ZERO);
    let error = ledger.apply(pay(&alice, &bob, 101, key("over"))).await.unwrap_err();
    assert!(matches!(error, LedgerError::InsufficientFunds { token: Token::Sol, .. }), "{error:?}");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(100));
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn a_retried_request_returns_the_first_receipt_and_moves_nothing_twice() {
    let ledger = ledger().await;
    let alice = new_wallet();
    let key = key("retry");
    let first = ledger.apply(pay(&faucet(), &alice, 700, key.clone())).await.unwrap();
    let retry = ledger.apply(pay(&faucet(), &alice, 700, key.clone())).await.unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.reference, first.reference);
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(700));

    let different = ledger.apply(pay(&faucet(), &alice, 701, key)).await.unwrap_err();
    assert!(matches!(different, LedgerError::IdempotencyConflict(_)), "{different:?}");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(700));
}

/// The same key and legs acting on something else (another stake account, another memo) is a
/// different request: refused, and nothing moves.
#[tokio::test]
async fn a_key_reused_for_another_target_is_refused_even_when_the_legs_match() {
    let ledger = ledger().await;
    let alice = new_wallet();
    let key = key("withdraw");
    let on = |target: &str| pay(&faucet(), &alice, 1_000, key.clone()).acting_on("stake_account", target);
    let first = ledger.apply(on("A")).await.unwrap();
    let other = ledger.apply(on("B")).await.unwrap_err();
    assert!(matches!(other, LedgerError::IdempotencyConflict(_)), "{other:?}");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(1_000));
    let again = ledger.apply(on("A")).await.unwrap();
    assert_eq!((again.reference, again.replayed), (first.reference, true));
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn concurrent_retries_of_one_request_apply_it_once() {
    let ledger = Arc::new(ledger().await);
    let alice = new_wallet();
    let key = key("storm");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (ledger, alice, key) = (ledger.clone(), alice.clone(), key.clone());
            tokio::spawn(async move { ledger.apply(pay(&faucet(), &alice, 5, key)).await })
        })
        .collect();
    let mut references = Vec::new();
    for task in tasks {
        references.push(task.await.unwrap().expect("every retry gets the receipt").reference);
    }
    references.dedup();
    assert_eq!(references.len(), 1, "one reference for one request");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(5));
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn fifty_concurrent_credits_to_one_account_are_all_counted() {
    let ledger = Arc::new(ledger().await);
    let alice = new_wallet();
    let tasks: Vec<_> = (1..=50u64)
        .map(|i| {
            let (ledger, alice) = (ledger.clone(), alice.clone());
            tokio::spawn(async move { ledger.apply(pay(&faucet(), &alice, i, key("credit"))).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every credit is applied");
    }
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol((1..=50).sum()));
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn concurrent_debits_never_overdraw() {
    let ledger = Arc::new(ledger().await);
    let (alice, bob) = (new_wallet(), new_wallet());
    ledger.apply(pay(&faucet(), &alice, 10, key("fund"))).await.unwrap();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (ledger, alice, bob) = (ledger.clone(), alice.clone(), bob.clone());
            tokio::spawn(async move { ledger.apply(pay(&alice, &bob, 1, key("spend"))).await })
        })
        .collect();
    let mut paid = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => paid += 1,
            Err(LedgerError::InsufficientFunds { .. }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(paid, 10, "exactly the funded debits succeed");
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), Amount::ZERO);
    assert_eq!(ledger.balance(&bob, Token::Sol).await.unwrap(), sol(10));
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn side_writes_commit_with_the_money_or_not_at_all() {
    let (client, database) = solstice_testkit::fresh_database().await;
    let ledger = Ledger::new(client, &database);
    ledger.init().await.unwrap();
    let notes = database.collection::<mongodb::bson::Document>("notes");
    let alice = new_wallet();

    let with_insert = pay(&faucet(), &alice, 10, key("insert")).with_side_write(SideWrite::Insert {
        collection: "notes".into(),
        document: doc! { "_id": "n1" },
        reference_field: None,
    });
    ledger.apply(with_insert).await.unwrap();
    assert_eq!(notes.count_documents(doc! {}).await.unwrap(), 1);

    // A document that names its record gets the reference in the same transaction.
    let named = pay(&faucet(), &alice, 1, key("named")).with_side_write(SideWrite::Insert {
        collection: "notes".into(),
        document: doc! { "_id": "n2", "reference": null },
        reference_field: Some("reference".into()),
    });
    let receipt = ledger.apply(named).await.unwrap();
    let stored = notes.find_one(doc! { "_id": "n2" }).await.unwrap().unwrap();
    assert_eq!(stored.get_str("reference").unwrap(), receipt.reference.as_str());

    let failing = pay(&faucet(), &alice, 10, key("update")).with_side_write(SideWrite::Update {
        collection: "notes".into(),
        filter: doc! { "_id": "missing" },
        update: doc! { "$set": { "x": 1 } },
    });
    let error = ledger.apply(failing).await.unwrap_err();
    assert!(matches!(error, LedgerError::Precondition(_)), "{error:?}");
    assert_eq!(
        ledger.balance(&alice, Token::Sol).await.unwrap(),
        sol(11),
        "the failed side write rolled the money back"
    );
}

#[tokio::test]
async fn history_lists_an_accounts_records_newest_first_page_by_page() {
    use solstice_ledger::HistoryQuery;
    let ledger = ledger().await;
    let (alice, bob, carol) = (new_wallet(), new_wallet(), new_wallet());
    ledger.apply(pay(&faucet(), &alice, 1_000, key("fund"))).await.unwrap();
    let mut references = Vec::new();
    for n in 1..=5 {
        let request = pay(&alice, &bob, n, key("pay")).with_details(doc! { "memo": format!("payment {n}") });
        references.push(ledger.apply(request).await.unwrap().reference);
    }
    let query = |before| HistoryQuery {
        kind: ReferenceKind::Transfer,
        token: None,
        since: None,
        until: None,
        before,
        limit: 2,
    };
    let reader = ledger.reader();
    let first = reader.history(&bob, &query(None)).await.unwrap().records;
    assert_eq!(
        first.iter().map(|r| r.reference.clone()).collect::<Vec<_>>(),
        [&references[4], &references[3]].map(Clone::clone)
    );
    assert_eq!(first[0].details.as_ref().unwrap().get_str("memo").unwrap(), "payment 5");
    let second = reader.history(&bob, &query(Some(first[1].reference.clone()))).await.unwrap().records;
    assert_eq!(
        second.iter().map(|r| r.reference.clone()).collect::<Vec<_>>(),
        [&references[2], &references[1]].map(Clone::clone)
    );
    // Alice also has the transfer that funded her.
    assert_eq!(reader.history(&alice, &HistoryQuery { limit: 100, ..query(None) }).await.unwrap().records.len(), 6);
    assert!(reader.history(&carol, &query(None)).await.unwrap().records.is_empty());
    let usdc = HistoryQuery { token: Some(Token::Usdc), ..query(None) };
    assert!(reader.history(&bob, &usdc).await.unwrap().records.is_empty());
    let swaps = HistoryQuery { kind: ReferenceKind::Swap, ..query(None) };
    assert!(reader.history(&bob, &swaps).await.unwrap().records.is_empty());

    // A record opens for those who took part in it, and for no one else.
    assert!(reader.record_of(&bob, &references[0]).await.unwrap().is_some());
    assert!(reader.record_of(&alice, &references[0]).await.unwrap().is_some());
    assert!(reader.record_of(&carol, &references[0]).await.unwrap().is_none());
}

#[tokio::test]
async fn a_replay_returns_the_details_of_the_first_application() {
    let ledger = ledger().await;
    let (alice, bob) = (new_wallet(), new_wallet());
    ledger.apply(pay(&faucet(), &alice, 100, key("fund"))).await.unwrap();
    let retried = key("retry");
    let first = ledger.apply(pay(&alice, &bob, 10, retried.clone()).with_details(doc! { "n": 1 })).await.unwrap();
    let again = ledger.apply(pay(&alice, &bob, 10, retried).with_details(doc! { "n": 2 })).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.reference, first.reference);
    assert_eq!(again.details.unwrap().get_i32("n").unwrap(), 1);
    assert_eq!(ledger.balance(&bob, Token::Sol).await.unwrap(), sol(10));
}

#[tokio::test]
async fn concurrent_rebalancers_spread_the_treasury_once_and_the_books_balance() {
    let ledger = ledger().await;
    let treasury = SystemAccount::Treasury;
    let before = ledger.system_balance(treasury, Token::Usdc).await.unwrap();
    assert_eq!(ledger.shard_balances(treasury, Token::Usdc).await.unwrap(), [(0, before)]);

    // Four rebalancers at once (a deposed one among them, say): one pass is applied, once.
    let passes = futures::future::join_all((0..4).map(|_| ledger.rebalance(treasury, Token::Usdc, 8))).await;
    let applied: Vec<usize> = passes.into_iter().map(Result::unwrap).filter(|moves| *moves > 0).collect();
    assert_eq!(applied, [7], "exactly one pass moved inventory, to the seven new shards");
    let shards = ledger.shard_balances(treasury, Token::Usdc).await.unwrap();
    assert_eq!(shards.iter().map(|(shard, _)| *shard).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
    assert!(shards.iter().all(|(_, amount)| *amount >= before / 8), "{shards:?}");
    assert_eq!(ledger.system_balance(treasury, Token::Usdc).await.unwrap(), before);
    // Even: nothing more to do.
    assert_eq!(ledger.rebalance(treasury, Token::Usdc, 8).await.unwrap(), 0);
    assert_sound(&ledger).await;

    // Fewer shards: the ones past the new number are emptied into the others.
    assert_eq!(ledger.rebalance(treasury, Token::Usdc, 2).await.unwrap(), 6);
    let shards = ledger.shard_balances(treasury, Token::Usdc).await.unwrap();
    assert!(shards.iter().all(|(shard, amount)| (*shard < 2) == (*amount > 0)), "{shards:?}");
    assert_eq!(ledger.system_balance(treasury, Token::Usdc).await.unwrap(), before);
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn a_starved_shard_is_refilled_and_a_pass_moves_money_only_between_shards() {
    let ledger = ledger().await;
    let treasury = SystemAccount::Treasury;
    assert!(ledger.rebalance(treasury, Token::Sol, 4).await.unwrap() > 0);
    // Shard 3 pays out almost everything it holds.
    let shard = AccountId::shard(treasury, 3);
    let held = ledger.balance(&shard, Token::Sol).await.unwrap().base_units();
    let wallet = new_wallet();
    ledger.apply(pay(&shard, &wallet, held - 1, key("drain"))).await.unwrap();
    assert_eq!(ledger.rebalance(treasury, Token::Sol, 4).await.unwrap(), 3);
    let shards = ledger.shard_balances(treasury, Token::Sol).await.unwrap();
    let share = shards.iter().map(|(_, amount)| amount).sum::<i64>() / 4;
    assert!(shards.iter().all(|(_, amount)| (*amount - share).abs() < 4), "{shards:?}");
    assert_eq!(ledger.balance(&wallet, Token::Sol).await.unwrap().base_units(), held - 1);
    assert_sound(&ledger).await;
}

#[tokio::test]
async fn a_transaction_of_many_balances_moves_all_of_them_or_none() {
    let ledger = ledger().await;
    let (wallet, shard, fees) =
        (new_wallet(), AccountId::shard(SystemAccount::Treasury, 5), AccountId::shard(SystemAccount::Fees, 5));
    let usdc = |units| Amount::from_base_units(units).unwrap();
    // A swap's shape (five balances, three of them new): the wallet pays SOL it does not have.
    let swap = |key: IdempotencyKey| {
        let legs = vec![
            Leg { from: wallet.clone(), to: shard.clone(), token: Token::Sol, amount: sol(1_000) },
            Leg {
                from: AccountId::System(SystemAccount::Treasury),
                to: wallet.clone(),
                token: Token::Usdc,
                amount: usdc(150),
            },
            Leg {
                from: AccountId::System(SystemAccount::Treasury),
                to: fees.clone(),
                token: Token::Usdc,
                amount: usdc(1),
            },
        ];
        TransactionRequest::new(ReferenceKind::Swap, key, legs)
    };
    let refused = ledger.apply(swap(key("short"))).await.unwrap_err();
    assert!(
        matches!(&refused, LedgerError::InsufficientFunds { account, token: Token::Sol } if *account == wallet),
        "{refused:?}"
    );
    assert_eq!(ledger.balance(&wallet, Token::Usdc).await.unwrap(), Amount::ZERO);
    assert_eq!(ledger.balance(&fees, Token::Usdc).await.unwrap(), Amount::ZERO);
    assert_eq!(ledger.balance(&shard, Token::Sol).await.unwrap(), Amount::ZERO);

    ledger.apply(pay(&faucet(), &wallet, 1_000, key("fund"))).await.unwrap();
    ledger.apply(swap(key("swap"))).await.unwrap();
    assert_eq!(ledger.balance(&wallet, Token::Sol).await.unwrap(), Amount::ZERO);
    assert_eq!(ledger.balance(&wallet, Token::Usdc).await.unwrap(), usdc(150));
    assert_eq!(ledger.balance(&fees, Token::Usdc).await.unwrap(), usdc(1));
    assert_eq!(ledger.balance(&shard, Token::Sol).await.unwrap(), sol(1_000));
    assert_sound(&ledger).await;
}

/// What a transaction does once only (a quote's fill) is done once whatever the keys: racing
/// requests under different keys move money once, the others are refused and move nothing, and
/// the winner's retry is still answered with its receipt.
#[tokio::test]
async fn what_is_done_once_is_done_once_whatever_the_keys() {
    let ledger = ledger().await;
    let alice = new_wallet();
    let faucet_before = ledger.balance(&faucet(), Token::Sol).await.unwrap();
    let keys: Vec<IdempotencyKey> = (0..8).map(|_| key("once")).collect();
    let attempts = keys.iter().map(|key| {
        let ledger = ledger.clone();
        let request = pay(&faucet(), &alice, 7, key.clone()).once("quote:q1");
        tokio::spawn(async move { ledger.apply(request).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts).await.into_iter().map(Result::unwrap).collect();
    let filled: Vec<usize> = (0..outcomes.len()).filter(|i| outcomes[*i].is_ok()).collect();
    assert_eq!(filled.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(matches!(error, LedgerError::AlreadyDone(value) if value == "quote:q1"), "{error:?}");
        }
    }
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(7));
    assert_eq!(ledger.balance(&faucet(), Token::Sol).await.unwrap(), faucet_before.checked_sub(sol(7)).unwrap());

    // The winner's retry is answered with its first receipt; a loser's retry is refused again.
    let winner = &keys[filled[0]];
    let first = outcomes[filled[0]].as_ref().unwrap();
    let retried = ledger.apply(pay(&faucet(), &alice, 7, winner.clone()).once("quote:q1")).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.reference, first.reference);
    let loser = keys.iter().find(|key| *key != winner).unwrap();
    let error = ledger.apply(pay(&faucet(), &alice, 7, loser.clone()).once("quote:q1")).await.unwrap_err();
    assert!(matches!(error, LedgerError::AlreadyDone(_)), "{error:?}");
    // Requests that do nothing once are not held back by it.
    ledger.apply(pay(&faucet(), &alice, 1, key("plain"))).await.unwrap();
    ledger.apply(pay(&faucet(), &alice, 1, key("plain"))).await.unwrap();
    ledger.apply(pay(&faucet(), &alice, 1, key("other")).once("quote:q2")).await.unwrap();
    assert_eq!(ledger.balance(&alice, Token::Sol).await.unwrap(), sol(10));
    assert_sound(&ledger).await;
}
