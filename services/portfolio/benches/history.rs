//! How fast the portfolio service answers for a wallet with a long history: 10,000 ledger
//! records over 30 days (transfers in and out, swaps), with hourly candles for the same time.
//! Prints the median and the slowest of several calls of each: the value history of each
//! range, the first activity page, and the whole activity paged through as the CSV export
//! does. Run by `scripts/bench portfolio` (it sets MONGODB_URI); BENCH_RECORDS changes the
//! number of records.

use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use solstice_ledger::{AccountId, Ledger, SystemAccount};
use solstice_market::{Candle, Interval, MarketKind, MarketTick, TickPrice, store::MarketStore};
use solstice_portfolio::Config;
use solstice_types::{Reference, ReferenceKind, Token, UsdPrice, WalletAddress};

const RUNS: usize = 3;

#[tokio::main]
async fn main() {
    let records: usize = std::env::var("BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let (client, database) = solstice_testkit::fresh_database().await;
    Ledger::new(client, &database).init().await.unwrap();
    let store = MarketStore::new(&database);
    store.init().await.unwrap();
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    let span_ms = 30 * 86_400_000i64;
    let price = |dollars: u64| UsdPrice::from_picodollars(dollars * 1_000_000_000_000);
    let mut candles = Vec::new();
    let first_hour = Interval::OneHour.start_of((now_ms - span_ms) / 1_000);
    for hour in 0..=(span_ms / 3_600_000) {
        candles.push(Candle::at(first_hour + hour * 3_600, price(100 + (hour as u64 % 50))));
    }
    store.backfill(Token::Sol, Interval::OneHour, &candles).await.unwrap();
    let usdc: Vec<Candle> = candles.iter().map(|c| Candle::at(c.start, price(1))).collect();
    store.backfill(Token::Usdc, Interval::OneHour, &usdc).await.unwrap();
    let tick = MarketTick {
        seq: 1,
        term: 1,
        at_ms: now_ms,
        market: MarketKind::Simulated,
        prices: [(Token::Sol, 150), (Token::Usdc, 1)]
            .map(|(token, dollars)| TickPrice {
                token,
                price: price(dollars),
                open_24h: None,
                suspect: false,
                sources: vec![],
            })
            .to_vec(),
    };
    store.write_tick(&tick).await.unwrap();

    let wallet = WalletAddress::from_public_key(&[1; 32]);
    let other = AccountId::wallet(&WalletAddress::from_public_key(&[2; 32]));
    let me = AccountId::wallet(&wallet);
    let treasury = AccountId::System(SystemAccount::Treasury);
    let faucet = AccountId::System(SystemAccount::Faucet);
    let leg = |from: &AccountId, to: &AccountId, token: Token, amount: i64| {
        doc! { "from": from.to_string(), "to": to.to_string(), "token": token.symbol(), "amount": amount }
    };
    let mut docs: Vec<Document> = Vec::with_capacity(records);
    for i in 0..records {
        let at = now_ms - span_ms + (span_ms / records as i64) * i as i64;
        let (kind, legs, details) = match i % 4 {
            0 if i == 0 => (ReferenceKind::Airdrop, vec![leg(&faucet, &me, Token::Sol, 1_000_000_000_000)], doc! {}),
            0 | 1 => (ReferenceKind::Transfer, vec![leg(&other, &me, Token::Sol, 20_000_000)], doc! {}),
            2 => (ReferenceKind::Transfer, vec![leg(&me, &other, Token::Sol, 10_000_000)], doc! { "memo": "rent" }),
            _ => (
                ReferenceKind::Swap,
                vec![leg(&me, &treasury, Token::Sol, 10_000_000), leg(&treasury, &me, Token::Usdc, 1_200_000)],
                doc! { "from": "SOL", "to": "USDC", "fee": 0i64, "price_in": 120_000_000_000_000i64, "price_out": 1_000_000_000_000i64 },
            ),
        };
        let accounts: Vec<String> =
            vec![me.to_string(), if kind == ReferenceKind::Swap { treasury.to_string() } else { other.to_string() }];
        let accounts = if kind == ReferenceKind::Airdrop { vec![faucet.to_string(), me.to_string()] } else { accounts };
        docs.push(doc! {
            "_id": Reference::new(kind, at as u64, i as u32).to_string(), "kind": mongodb::bson::to_bson(&kind).unwrap(),
            "idempotency_key": format!("bench:{i}"), "fingerprint": "bench", "legs": legs, "entries": [],
            "accounts": accounts, "created_at": mongodb::bson::DateTime::from_millis(at), "details": details,
        });
    }
    for chunk in docs.chunks(1_000) {
        database.collection::<Document>("ledger_transactions").insert_many(chunk).await.unwrap();
    }

    let config = Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    let service = solstice_portfolio::build(config).await.unwrap();
    let base = format!("http://{}", service.local_addr());
    tokio::spawn(service.run_until_stopped(std::future::pending()));
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "    portfolio service, one wallet with {records} records over 30 days (median and slowest of {RUNS} calls)"
    );
    for range in ["24h", "7d", "30d", "all"] {
        let url = format!("{base}/v1/portfolio/history?range={range}");
        report(&format!("value history, {range}"), || async { call(&url, &wallet).await }).await;
    }
    let first_page = format!("{base}/v1/activity?limit=20");
    report("activity, first page of 20", || async { call(&first_page, &wallet).await }).await;
    report("activity, all pages of 1,000 (the CSV export)", || async {
        let mut before = String::new();
        loop {
            let page = call(&format!("{base}/v1/activity?limit=1000{before}"), &wallet).await;
            match page["next_before"].as_str() {
                Some(next) => before = format!("&before={next}"),
                None => break,
            }
        }
    })
    .await;
    database.drop().await.unwrap();
}

async fn call(url: &str, wallet: &WalletAddress) -> serde_json::Value {
    let (status, body) = solstice_testkit::signed("GET", url, wallet, None).await;
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

async fn report<F, Fut, T>(what: &str, run: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run().await;
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!("    {what:<46} {:>9.1} ms {:>9.1} ms", ms(times[RUNS / 2]), ms(times[RUNS - 1]));
}
