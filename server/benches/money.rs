//! Money-path benchmark: transfers and swaps driven through the host's HTTP endpoints, as the
//! browser calls them (server function, session, host, signed call to the service, ledger
//! transaction), next to the same ledger transactions applied directly through the driver in
//! the same run, so that the stack's overhead is a ratio.
//!
//! Run through `scripts/bench money`, which starts the database, the services and a release
//! host and passes `BENCH_HOST` (http://…), `MONGODB_URI`, `SOLSTICE_DATABASE`,
//! `BENCH_CLIENTS` (concurrent clients, default 16), `BENCH_SECONDS` (per phase) and
//! `BENCH_ROUNDS` (the phases take turns this many times, 3 by default, in as many parts of
//! `BENCH_SECONDS`), and `BENCH_PROCESSES` (`name=pid …`: the database, the host and the
//! services), whose CPU time per operation it prints beside the benchmark's own, so that a
//! ratio can be read as where the machine's time went.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use solstice_ledger::{AccountId, IdempotencyKey, Ledger, Leg, SystemAccount, TransactionRequest};
use solstice_types::{Amount, ReferenceKind, Token, WalletAddress};

const PASSWORD: &str = "benchmark password";
/// The swap service's number of treasury shards: `SWAP_TREASURY_SHARDS`, as the services
/// were started with (8 by default), so that the raw swaps spread as the service's do.
fn treasury_shards() -> u8 {
    std::env::var("SWAP_TREASURY_SHARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(8)
}

/// The processes whose CPU time is counted (`BENCH_PROCESSES`), this one last, and the
/// database whose operations are counted.
struct Processes {
    watched: Vec<(String, String)>,
    /// Clock ticks per second, in which `/proc` counts CPU time (`BENCH_CLOCK_TICKS`).
    ticks: f64,
    database: mongodb::Client,
}

/// The kinds of operation the database counts (`serverStatus`'s `opcounters`).
const OPERATIONS: [&str; 5] = ["insert", "query", "update", "delete", "command"];

impl Processes {
    fn from_env(database: mongodb::Client) -> Processes {
        let listed = std::env::var("BENCH_PROCESSES").unwrap_or_default();
        let mut watched: Vec<(String, String)> = listed
            .split_whitespace()
            .filter_map(|entry| entry.split_once('='))
            .map(|(name, pid)| (name.to_owned(), pid.to_owned()))
            .collect();
        watched.push(("benchmark".to_owned(), "self".to_owned()));
        let ticks = std::env::var("BENCH_CLOCK_TICKS").ok().and_then(|t| t.parse().ok()).unwrap_or(100.0);
        Processes { watched, ticks, database }
    }

    /// How many operations of each kind the database has served so far (zeros where it does not
    /// tell).
    async fn operations(&self) -> [f64; OPERATIONS.len()] {
        let status = self.database.database("admin").run_command(mongodb::bson::doc! { "serverStatus": 1 }).await;
        let counters =
            status.ok().and_then(|status| status.get_document("opcounters").ok().cloned()).unwrap_or_default();
        OPERATIONS.map(|name| match counters.get(name) {
            Some(mongodb::bson::Bson::Int32(n)) => f64::from(*n),
            Some(mongodb::bson::Bson::Int64(n)) => *n as f64,
            Some(mongodb::bson::Bson::Double(n)) => *n,
            _ => 0.0,
        })
    }

    /// CPU seconds (user and system) each process has used so far; zero for one that is gone.
    fn cpu(&self) -> Vec<f64> {
        self.watched
            .iter()
            .map(|(_, pid)| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // After the command's closing parenthesis: state, then utime and stime as the
                // 12th and 13th fields.
                let fields: Vec<&str> =
                    stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
                let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
                (field(11) + field(12)) / self.ticks
            })
            .collect()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1_000.0
}

/// What one kind of operation achieved, over every round it ran.
#[derive(Default)]
struct Tally {
    label: &'static str,
    clients: usize,
    failures: u64,
    seconds: f64,
    latencies: Vec<Duration>,
    /// Operations started so far by each client, so that no round reuses a key.
    started: u64,
    /// CPU seconds each watched process spent while this kind ran.
    cpu: Vec<f64>,
    /// Database operations of each kind served while this kind ran.
    operations: [f64; OPERATIONS.len()],
}

impl Tally {
    fn new(label: &'static str, clients: usize) -> Tally {
        Tally { label, clients, ..Tally::default() }
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }

    fn print(&mut self, processes: &Processes) {
        self.latencies.sort_unstable();
        println!(
            "{:<34} clients={} ops={} failed={} ops_per_s={:.1} p50_ms={:.2} p99_ms={:.2}",
            self.label,
            self.clients,
            self.latencies.len(),
            self.failures,
            self.rate(),
            percentile(&self.latencies, 0.50),
            percentile(&self.latencies, 0.99),
        );
        let ops = self.latencies.len().max(1) as f64;
        let spent: Vec<String> = processes
            .watched
            .iter()
            .zip(&self.cpu)
            .filter(|(_, seconds)| **seconds > 0.0)
            .map(|((name, _), seconds)| format!("{name} {:.0}", seconds * 1e6 / ops))
            .collect();
        println!(
            "{:<34} CPU µs per op: {} (all: {:.0})",
            "",
            spent.join(", "),
            self.cpu.iter().sum::<f64>() * 1e6 / ops
        );
        let served: Vec<String> = OPERATIONS
            .iter()
            .zip(self.operations)
            .filter(|(_, count)| *count > 0.0)
            .map(|(name, count)| format!("{name} {:.2}", count / ops))
            .collect();
        if !served.is_empty() {
            println!("{:<34} database operations per op: {}", "", served.join(", "));
        }
    }
}

/// Runs `tally.clients` loops of `operation` for `length`, adding what they achieved to `tally`.
async fn measure<F, Fut>(tally: &mut Tally, processes: &Processes, length: Duration, operation: Arc<F>)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let operations_before = processes.operations().await;
    let cpu_before = processes.cpu();
    let deadline = Instant::now() + length;
    let started = Instant::now();
    let first = tally.started;
    let tasks: Vec<_> = (0..tally.clients)
        .map(|client| {
            let operation = operation.clone();
            tokio::spawn(async move {
                let (mut latencies, mut failures, mut n) = (Vec::new(), 0u64, first);
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match operation(client, n).await {
                        Ok(()) => latencies.push(began.elapsed()),
                        Err(error) => {
                            failures += 1;
                            if failures <= 3 {
                                eprintln!("{error}");
                            }
                        }
                    }
                    n += 1;
                }
                (latencies, failures, n)
            })
        })
        .collect();
    for task in tasks {
        let (mine, failed, next) = task.await.expect("a client task");
        tally.latencies.extend(mine);
        tally.failures += failed;
        tally.started = tally.started.max(next);
    }
    tally.seconds += started.elapsed().as_secs_f64();
    let spent = processes.cpu().iter().zip(&cpu_before).map(|(after, before)| after - before).collect::<Vec<_>>();
    let operations = processes.operations().await;
    for (total, (after, before)) in tally.operations.iter_mut().zip(operations.iter().zip(operations_before)) {
        *total += after - before;
    }
    tally.cpu.resize(spent.len(), 0.0);
    tally.cpu.iter_mut().zip(spent).for_each(|(total, spent)| *total += spent);
}

/// A logged-in browser-like client with a new wallet.
async fn sign_up(host: &str, initial_sol: &str) -> (reqwest::Client, WalletAddress) {
    let client = reqwest::Client::builder().cookie_store(true).build().expect("an HTTP client");
    let form = [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", initial_sol)];
    let response = client.post(format!("{host}/api/sign_up")).form(&form).send().await.expect("sign-up answers");
    assert!(response.status().is_success(), "sign-up failed: {}", response.status());
    let body: Value = response.json().await.expect("a sign-up body");
    let address = WalletAddress::parse(body["address"].as_str().expect("an address")).expect("a valid address");
    (client, address)
}

async fn call(client: &reqwest::Client, host: &str, function: &str, form: &[(&str, &str)]) -> Result<Value, String> {
    let response = client
        .post(format!("{host}/api/{function}"))
        .form(form)
        .send()
        .await
        .map_err(|error| format!("{function}: {error}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|error| format!("{function}: {error}"))?;
    if status.is_success() { Ok(body) } else { Err(format!("{function}: {status} {body}")) }
}

fn key(client: usize, n: u64, kind: &str) -> String {
    format!("bench-{kind}-{}-{client}-{n}", std::process::id())
}

async fn run(host: String, ledger: Ledger, clients: usize, seconds: u64) {
    println!("setting up {clients} senders and {clients} receivers through the host…");
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..clients {
        senders.push(sign_up(&host, "1000").await);
        receivers.push(sign_up(&host, "1").await.1);
    }
    let senders = Arc::new(senders);
    let receivers = Arc::new(receivers);
    // The swap service spreads the treasury over its shards when it starts; measure swaps once
    // it has (until then they all fall back to the one shard genesis filled).
    for _ in 0..300 {
        let shards = ledger.shard_balances(SystemAccount::Treasury, Token::Usdc).await.expect("the treasury's shards");
        if shards.iter().filter(|(_, amount)| *amount > 0).count() >= usize::from(treasury_shards()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A transfer: through the host, then the same one-leg transaction applied directly.
    let host_transfer = {
        let (host, senders, receivers) = (host.clone(), senders.clone(), receivers.clone());
        Arc::new(move |client: usize, n: u64| {
            let (host, senders, receivers) = (host.clone(), senders.clone(), receivers.clone());
            async move {
                let to = receivers[client].to_string();
                let key = key(client, n, "trf");
                let form = [
                    ("to", to.as_str()),
                    ("token", "SOL"),
                    ("amount", "0.000001"),
                    ("memo", ""),
                    ("idempotency_key", &key),
                ];
                call(&senders[client].0, &host, "send_transfer", &form).await.map(drop)
            }
        })
    };
    let raw_transfer = {
        let (ledger, senders, receivers) = (ledger.clone(), senders.clone(), receivers.clone());
        Arc::new(move |client: usize, n: u64| {
            let (ledger, senders, receivers) = (ledger.clone(), senders.clone(), receivers.clone());
            async move {
                let leg = Leg {
                    from: AccountId::wallet(&senders[client].1),
                    to: AccountId::wallet(&receivers[client]),
                    token: Token::Sol,
                    amount: Amount::from_base_units(1_000).expect("an amount"),
                };
                let key =
                    IdempotencyKey::new(format!("trf:{}:{}", senders[client].1, key(client, n, "raw"))).expect("a key");
                ledger
                    .apply(TransactionRequest::new(ReferenceKind::Transfer, key, vec![leg]))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        })
    };

    // A swap: quote and execute through the host, then the same three legs applied directly.
    let host_swap = {
        let (host, senders) = (host.clone(), senders.clone());
        Arc::new(move |client: usize, n: u64| {
            let (host, senders) = (host.clone(), senders.clone());
            async move {
                let browser = &senders[client].0;
                let form = [
                    ("from", "SOL"),
                    ("to", "USDC"),
                    ("amount", "0.001"),
                    ("side", "exact_in"),
                    ("slippage_bps", "100"),
                ];
                let quote = call(browser, &host, "swap_quote", &form).await?;
                let key = key(client, n, "swp");
                let id = quote["id"].as_str().unwrap_or_default();
                call(browser, &host, "execute_swap", &[("quote_id", id), ("idempotency_key", &key)]).await.map(drop)
            }
        })
    };
    let raw_swap = {
        let (ledger, senders) = (ledger.clone(), senders.clone());
        Arc::new(move |client: usize, n: u64| {
            let (ledger, senders) = (ledger.clone(), senders.clone());
            async move {
                // What the swap service writes: the three legs, in a record that names the
                // quote it fills (quotes themselves are not stored).
                let id = format!("q_raw_{}_{client}_{n}", std::process::id());
                let wallet = AccountId::wallet(&senders[client].1);
                // A shard of the treasury and of the fee account, as the service picks it.
                let shard = ledger.shard_order(SystemAccount::Treasury, treasury_shards())[0];
                let treasury = AccountId::shard(SystemAccount::Treasury, shard);
                let units = |n| Amount::from_base_units(n).expect("an amount");
                let legs = vec![
                    Leg { from: wallet.clone(), to: treasury.clone(), token: Token::Sol, amount: units(1_000_000) },
                    Leg { from: treasury.clone(), to: wallet, token: Token::Usdc, amount: units(150_000) },
                    Leg {
                        from: treasury,
                        to: AccountId::shard(SystemAccount::Fees, shard),
                        token: Token::Usdc,
                        amount: units(450),
                    },
                ];
                let key =
                    IdempotencyKey::new(format!("swp:{}:{}", senders[client].1, key(client, n, "raw"))).expect("a key");
                let request = TransactionRequest::new(ReferenceKind::Swap, key, legs)
                    .acting_on("quote", &id)
                    .once(format!("quote:{id}"));
                ledger.apply(request).await.map(drop).map_err(|e| e.to_string())
            }
        })
    };
    // The phases take turns, round after round, so that the machine's drift over the run (other
    // work on a shared machine, the database growing) falls on all of them alike.
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|n| n.parse::<u32>().ok()).unwrap_or(3).max(1);
    let length = Duration::from_secs(seconds) / rounds;
    let mut tallies = [
        Tally::new("transfer via host HTTP", clients),
        Tally::new("transfer via driver (raw)", clients),
        Tally::new("swap via host HTTP (quote+execute)", clients),
        Tally::new("swap via driver (raw)", clients),
    ];
    let processes = Processes::from_env(ledger.client().clone());
    println!("{rounds} rounds of {length:?} per phase, taking turns");
    for _ in 0..rounds {
        measure(&mut tallies[0], &processes, length, host_transfer.clone()).await;
        measure(&mut tallies[1], &processes, length, raw_transfer.clone()).await;
        measure(&mut tallies[2], &processes, length, host_swap.clone()).await;
        measure(&mut tallies[3], &processes, length, raw_swap.clone()).await;
    }
    for tally in &mut tallies {
        tally.print(&processes);
    }
    let [host_transfers, raw_transfers, host_swaps, raw_swaps] = tallies.each_ref().map(Tally::rate);
    println!(
        "host/raw throughput: transfers {:.0}%, swaps {:.0}% (target: at least 75%)",
        100.0 * host_transfers / raw_transfers.max(f64::MIN_POSITIVE),
        100.0 * host_swaps / raw_swaps.max(f64::MIN_POSITIVE),
    );
    println!(
        "swaps/transfers (target: at least 80%: no hot account): via driver {:.0}%, via host {:.0}% (a swap through the host is two calls: quote and execute)",
        100.0 * raw_swaps / raw_transfers.max(f64::MIN_POSITIVE),
        100.0 * host_swaps / host_transfers.max(f64::MIN_POSITIVE),
    );
    for audit in ledger.audit().await.expect("an audit") {
        assert!(audit.is_sound(), "the books do not balance after the benchmark: {audit:?}");
    }
    println!("books balance after the benchmark: every token's supply is accounted for, no balance is negative");
}

fn main() {
    let host = std::env::var("BENCH_HOST").expect("BENCH_HOST: run through scripts/bench money");
    let uri = std::env::var("MONGODB_URI").expect("MONGODB_URI");
    let database = std::env::var("SOLSTICE_DATABASE").expect("SOLSTICE_DATABASE");
    let clients: usize = std::env::var("BENCH_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let client = mongodb::Client::with_uri_str(&uri).await.expect("the database is reachable");
        let database = client.database(&database);
        let ledger = Ledger::new(client.clone(), &database);
        run(host, ledger, clients, seconds).await;
    });
}
