//! The activity timeline through the host: every kind of movement after a session of actions,
//! look-up by reference, and the CSV export, whose sums are the balances.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use solstice_types::{Amount, Token};

use crate::helpers::{Browser, TestPlatform, text};

/// Downloads `/activity.csv?query` as `browser`: the status, the headers and the body.
async fn csv(browser: &Browser, query: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = browser.client.get(format!("{}/activity.csv{query}", browser.host)).send().await.unwrap();
    (response.status(), response.headers().clone(), response.text().await.unwrap())
}

/// The CSV's records as maps from column name to field.
fn records(body: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| headers.iter().map(str::to_owned).zip(record.unwrap().iter().map(str::to_owned)).collect())
        .collect()
}

/// `text` in base units of `token` ("-3.01" SOL is -3,010,000,000); empty is zero.
fn units(text: &str, token: Token) -> i128 {
    let (negative, magnitude) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    if magnitude.is_empty() {
        return 0;
    }
    let units = i128::from(Amount::parse(magnitude, token.decimals()).unwrap().base_units());
    if negative { -units } else { units }
}

#[tokio::test]
async fn the_timeline_shows_every_kind_opens_each_row_and_exports_a_csv_that_sums_to_the_balances() {
    // The export reads pages of 40 rows here, so that this history takes several.
    let platform = TestPlatform::with_services_and(|config| config.export_page_rows = 40).await;
    let (alice, _) = platform.user("20").await;
    let (bob, bob_address) = platform.user("5").await;
    let alice_address = text(&alice.current_user().await["address"]);

    // A session of actions: more than one export page of transfers, one back, a swap, a stake
    // and its unstake.
    for i in 0..101 {
        let key = format!("activity-send-{i:04}");
        let memo = if i == 0 { "rent, \"June\"" } else { "" };
        let send = [
            ("to", bob_address.as_str()),
            ("token", "SOL"),
            ("amount", "0.01"),
            ("memo", memo),
            ("idempotency_key", &key),
        ];
        let (status, sent) = alice.call("send_transfer", &send).await;
        assert_eq!(status, StatusCode::OK, "{sent}");
    }
    let back = [
        ("to", alice_address.as_str()),
        ("token", "SOL"),
        ("amount", "0.5"),
        ("memo", ""),
        ("idempotency_key", "activity-back-0001"),
    ];
    assert_eq!(bob.call("send_transfer", &back).await.0, StatusCode::OK);
    let quote = alice.quote("1.5").await;
    let (status, swap) = alice
        .call("execute_swap", &[("quote_id", quote["id"].as_str().unwrap()), ("idempotency_key", "activity-swap-0001")])
        .await;
    assert_eq!(status, StatusCode::OK, "{swap}");
    let stake = [("validator", "aurora"), ("amount", "2"), ("idempotency_key", "activity-stake-0001")];
    let (status, staked) = alice.call("stake_sol", &stake).await;
    assert_eq!(status, StatusCode::OK, "{staked}");
    let unstake = [("address", staked["address"].as_str().unwrap()), ("idempotency_key", "activity-uns-0001")];
    assert_eq!(alice.call("unstake", &unstake).await.0, StatusCode::OK);

    // The first page, newest first: the unstake, the stake, the swap, Bob's transfer back...
    let (status, page) = alice.call("my_activity", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let kinds: Vec<&str> = page["rows"].as_array().unwrap().iter().map(|row| row["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[..5], ["unstake", "stake", "swap", "received", "sent"]);
    assert_eq!(kinds.len(), 20, "a page");
    assert!(page["next_before"].is_string());
    // ... and every kind, filtered.
    for (kind, count) in [("airdrop", 1), ("received", 1), ("swap", 1), ("stake", 1), ("unstake", 1), ("withdraw", 0)] {
        let (status, only) = alice.call("my_activity", &[("kind", kind)]).await;
        assert_eq!(status, StatusCode::OK, "{only}");
        assert_eq!(only["rows"].as_array().unwrap().len(), count, "{kind}: {only}");
    }
    let (_, usdc) = alice.call("my_activity", &[("token", "USDC")]).await;
    assert_eq!(usdc["rows"][0]["reference"], swap["reference"]);

    // Each row opens by its reference; not for anyone else.
    let swap_reference = text(&swap["reference"]);
    let (status, row) = alice.call("my_activity_row", &[("reference", &swap_reference.to_lowercase())]).await;
    assert_eq!((status, &row["kind"]), (StatusCode::OK, &Value::from("swap")));
    assert_eq!(row["sent"]["amount"], 1_500_000_000u64);
    let (status, error) = bob.call("my_activity_row", &[("reference", &swap_reference)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, error) = alice.call("my_activity", &[("kind", "gift")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&error["message"]).starts_with("The kind must be one of: airdrop, received"), "{error}");

    // The CSV: every row once, over several pages of the service, and summed, the balances.
    let (status, headers, body) = csv(&alice, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8; header=present");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"solstice-activity.csv\"");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.starts_with("time_utc,reference,kind,sent_amount,sent_token,received_amount,received_token,"));
    assert!(body.ends_with("\r\n"));
    let rows = records(&body);
    assert_eq!(rows.len(), 1 + 101 + 1 + 1 + 1 + 1, "airdrop, transfers, the one back, swap, stake, unstake");
    let mut references: Vec<&str> = rows.iter().map(|row| row["reference"].as_str()).collect();
    references.dedup();
    assert_eq!(references.len(), rows.len(), "no row twice");
    assert!(rows.iter().any(|row| row["note"] == "rent, \"June\""), "a memo with a comma and quotes survives");
    assert!(rows.iter().all(|row| row["time_utc"].ends_with('Z') && row["time_utc"].len() == 24));
    let balances = platform.balances(&alice_address).await;
    for token in Token::ALL {
        let symbol = token.symbol();
        let sum: i128 = rows
            .iter()
            .map(|row| {
                let received = if row["received_token"] == symbol { units(&row["received_amount"], token) } else { 0 };
                let sent = if row["sent_token"] == symbol { units(&row["sent_amount"], token) } else { 0 };
                received - sent
            })
            .sum();
        let balance = balances.get(&token).map_or(0, |amount| i128::from(amount.base_units()));
        assert_eq!(sum, balance, "{symbol}");
    }
    let staked_sum: i128 = rows.iter().map(|row| units(&row["staked_change_sol"], Token::Sol)).sum();
    assert_eq!(staked_sum, 2_000_000_000, "the SOL staked");

    // Compressed for a browser, the stream ends cleanly (compression polls it past its end).
    let compressed =
        alice.client.get(format!("{}/activity.csv", alice.host)).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");
    assert!(!compressed.bytes().await.expect("the whole compressed file").is_empty());

    // Filtered, named after its filter; refusals before any byte, with their status.
    let (status, headers, body) = csv(&alice, "?kind=swap&token=SOL").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-disposition"], "attachment; filename=\"solstice-activity-swap-SOL.csv\"");
    assert_eq!(records(&body).len(), 1);
    let (status, _, body) = csv(&alice, "?from=30/11/2026").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The from date must be a day like 2026-11-30."), "{body}");
    let (status, _, body) = csv(&platform.browser(), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Please log in to continue."), "{body}");
    // Bob's export has only his own: the airdrop, what Alice sent and what he sent back.
    let (_, _, body) = csv(&bob, "").await;
    assert_eq!(records(&body).len(), 1 + 101 + 1);
}
