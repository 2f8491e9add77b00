//! The fault test's load and its verdict. `scripts/faults` starts the platform with two
//! replicas of every service and two hosts behind nginx, runs this, and meanwhile kills and
//! restarts replicas, the database and a host, appending each fault to the events file.
//! Websocket clients follow live prices through the proxy meanwhile, and must hear them again
//! after their host dies.
//!
//! Every client acts like a careful browser: each money-moving request carries an idempotency
//! key, and an uncertain answer (5xx, no answer) is retried with the same key until it turns
//! into a definite one: success, or a refusal the user is shown. Afterwards the database is
//! checked: each successful request moved money exactly once, each refused one not at all,
//! the balances are exactly what the ledger's records add up to, every token's supply is
//! conserved and no balance is negative. Any request whose outcome is still unknown at the end
//! counts as lost: the test fails if one is.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures::TryStreamExt;
use mongodb::{Database, bson::doc};
use serde_json::Value;
use solstice_ledger::Ledger;
use solstice_types::WalletAddress;

const PASSWORD: &str = "fault test password";
/// How long a client keeps retrying an uncertain answer before it gives up for the moment.
const RETRY_WINDOW: Duration = Duration::from_secs(20);
/// An answer slower than this, in milliseconds, is one a user waits for: a swap is not back to
/// normal until its answers are quick again.
const SLOW_MS: i64 = 1_000;
/// Swaps must succeed again, quickly, within this long after a replica is killed (milliseconds).
const SWAP_RECOVERY_TARGET_MS: i64 = 5_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// One HTTP attempt's result, as the browser would see it.
#[derive(Debug, Clone)]
enum Answer {
    Ok(Value),
    /// A 4xx with the shared error body: definite, shown to the user, nothing moved.
    Refused(String),
    /// A 5xx, or no answer at all: the outcome is unknown until a retry settles it.
    Uncertain(String),
}

async fn call(client: &reqwest::Client, host: &str, function: &str, form: &[(&str, &str)]) -> Answer {
    let response = match client.post(format!("{host}/api/{function}")).form(form).send().await {
        Ok(response) => response,
        Err(error) => return Answer::Uncertain(format!("no answer: {}", error.without_url())),
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or("unreadable").to_owned();
    if status.is_success() {
        Answer::Ok(body)
    } else if status.is_client_error() {
        Answer::Refused(code)
    } else {
        Answer::Uncertain(format!("{} {code}", status.as_u16()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Transfer,
    Swap,
    Stake,
    Portfolio,
    StakeOverview,
}

impl Kind {
    /// The service's prefix of ledger idempotency keys, for those that move money.
    fn key_prefix(self) -> Option<&'static str> {
        match self {
            Kind::Transfer => Some("trf"),
            Kind::Swap => Some("swp"),
            Kind::Stake => Some("stk"),
            Kind::Portfolio | Kind::StakeOverview => None,
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The reference number of the ledger record it made (reads have none).
    Succeeded(Option<String>),
    Refused(String),
    Unknown,
}

#[derive(Debug, Clone)]
struct Request {
    kind: Kind,
    wallet: WalletAddress,
    client: usize,
    key: String,
    /// For swaps: the quote being executed, kept across retries.
    quote_id: Option<String>,
    outcome: Outcome,
}

/// Every attempt's end, whether it was in trouble and its kind, for error rate and recovery.
#[derive(Default)]
struct Timeline {
    attempts: Vec<(i64, bool, Kind)>,
    /// The same, where trouble is an uncertain answer or one slower than [`SLOW_MS`].
    slow_or_uncertain: Vec<(i64, bool, Kind)>,
    /// When each attempt started and how long it took, in milliseconds.
    latencies: Vec<(i64, i64)>,
    /// Why uncertain answers were uncertain, and how often.
    reasons: BTreeMap<String, usize>,
}

struct User {
    browser: reqwest::Client,
    wallet: WalletAddress,
}

async fn sign_up(host: &str) -> User {
    let browser =
        reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(10)).build().expect("an HTTP client");
    let form = [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", "100")];
    let Answer::Ok(body) = call(&browser, host, "sign_up", &form).await else {
        panic!("sign-up failed before any fault was injected");
    };
    let wallet = WalletAddress::parse(body["address"].as_str().expect("an address")).expect("a valid address");
    User { browser, wallet }
}

/// One attempt of `request`; a swap asks for a quote first when it has none yet.
async fn attempt(host: &str, users: &[User], request: &mut Request) -> Answer {
    let user = &users[request.client];
    let browser = &user.browser;
    match request.kind {
        Kind::Transfer => {
            let to = users[(request.client + 1) % users.len()].wallet.to_string();
            let form = [
                ("to", to.as_str()),
                ("token", "SOL"),
                ("amount", "0.001"),
                ("memo", "fault test"),
                ("idempotency_key", &request.key),
            ];
            call(browser, host, "send_transfer", &form).await
        }
        Kind::Swap => {
            if request.quote_id.is_none() {
                let form = [
                    ("from", "SOL"),
                    ("to", "USDC"),
                    ("amount", "0.01"),
                    ("side", "exact_in"),
                    ("slippage_bps", "100"),
                ];
                match call(browser, host, "swap_quote", &form).await {
                    Answer::Ok(quote) => request.quote_id = quote["id"].as_str().map(str::to_owned),
                    other => return other,
                }
            }
            let quote_id = request.quote_id.clone().unwrap_or_default();
            call(browser, host, "execute_swap", &[("quote_id", &quote_id), ("idempotency_key", &request.key)]).await
        }
        Kind::Stake => {
            let form = [("validator", "meridian"), ("amount", "0.01"), ("idempotency_key", &request.key)];
            call(browser, host, "stake_sol", &form).await
        }
        Kind::Portfolio => call(browser, host, "my_portfolio", &[]).await,
        Kind::StakeOverview => call(browser, host, "my_stakes", &[]).await,
    }
}

/// Runs `request` until it has a definite outcome or `window` has passed.
async fn settle(host: &str, users: &[User], request: &mut Request, window: Duration, timeline: &Mutex<Timeline>) {
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let sent_at = now_ms();
        let answer = attempt(host, users, request).await;
        {
            let mut timeline = timeline.lock().expect("timeline");
            let uncertain = matches!(answer, Answer::Uncertain(_));
            let ended = now_ms();
            timeline.attempts.push((ended, uncertain, request.kind));
            timeline.slow_or_uncertain.push((ended, uncertain || ended - sent_at > SLOW_MS, request.kind));
            timeline.latencies.push((sent_at, now_ms() - sent_at));
            if let Answer::Uncertain(reason) = &answer {
                *timeline.reasons.entry(format!("{:?}: {reason}", request.kind)).or_default() += 1;
            }
        }
        match answer {
            Answer::Ok(body) => {
                request.outcome = Outcome::Succeeded(body["reference"].as_str().map(str::to_owned));
                return;
            }
            Answer::Refused(code) => {
                request.outcome = Outcome::Refused(code);
                return;
            }
            Answer::Uncertain(_) if started.elapsed() >= window => {
                request.outcome = Outcome::Unknown;
                return;
            }
            Answer::Uncertain(_) => {
                let jitter = Duration::from_millis(rand::random::<u64>() % (pause.as_millis() as u64 + 1));
                tokio::time::sleep(pause / 2 + jitter / 2).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

const MIX: [Kind; 8] = [
    Kind::Transfer,
    Kind::Swap,
    Kind::Portfolio,
    Kind::Transfer,
    Kind::Swap,
    Kind::StakeOverview,
    Kind::Transfer,
    Kind::Stake,
];

async fn load(
    host: Arc<String>,
    users: Arc<Vec<User>>,
    client: usize,
    until: Instant,
    timeline: Arc<Mutex<Timeline>>,
) -> Vec<Request> {
    let mut done = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        let kind = MIX[(n + client) % MIX.len()];
        let mut request = Request {
            kind,
            wallet: users[client].wallet.clone(),
            client,
            key: format!("fault-{client}-{n}"),
            quote_id: None,
            outcome: Outcome::Unknown,
        };
        settle(&host, &users, &mut request, RETRY_WINDOW, &timeline).await;
        done.push(request);
        n += 1;
    }
    done
}

/// What a browser following live prices through the proxy saw.
#[derive(Default)]
struct Watch {
    /// When each message arrived (Unix milliseconds).
    heard: Vec<i64>,
    /// Times its socket closed and it connected again.
    reconnects: usize,
    /// Connection attempts that failed.
    failed_connects: usize,
}

/// Follows live prices over a websocket until `until`, as the front end does: when the socket
/// closes (or is silent for 10 s), it connects again, backing off from 100 ms to 2 s.
async fn watch_prices(url: String, until: Instant) -> Watch {
    use futures::StreamExt;
    let mut watch = Watch::default();
    let mut pause = Duration::from_millis(100);
    let mut connected_before = false;
    while Instant::now() < until {
        let Ok(Ok((mut socket, _))) =
            tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(&url)).await
        else {
            watch.failed_connects += 1;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            continue;
        };
        watch.reconnects += usize::from(connected_before);
        connected_before = true;
        pause = Duration::from_millis(100);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left.min(Duration::from_secs(10)), socket.next()).await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))) => watch.heard.push(now_ms()),
                Ok(Some(Ok(_))) => {}
                // Closed, broken, or silent for too long: connect again.
                Ok(Some(Err(_)) | None) | Err(_) => break,
            }
        }
    }
    watch
}

/// Checks the database against what the clients saw. Returns the problems found.
async fn verify(database: &Database, ledger: &Ledger, requests: &[Request]) -> Vec<String> {
    let mut problems = Vec::new();
    let transactions = database.collection::<mongodb::bson::Document>("ledger_transactions");
    for request in requests {
        let Some(prefix) = request.kind.key_prefix() else { continue };
        let key = format!("{prefix}:{}:{}", request.wallet, request.key);
        let records: Vec<mongodb::bson::Document> = transactions
            .find(doc! { "idempotency_key": &key })
            .await
            .expect("records")
            .try_collect()
            .await
            .expect("records");
        match (&request.outcome, records.as_slice()) {
            (Outcome::Succeeded(Some(reference)), [record]) if record.get_str("_id").ok() == Some(reference) => {}
            (Outcome::Refused(_), []) => {}
            (outcome, records) => problems
                .push(format!("{key}: the client saw {outcome:?} but the ledger has {} record(s)", records.len())),
        }
    }
    let succeeded =
        requests.iter().filter(|r| r.kind.key_prefix().is_some() && matches!(r.outcome, Outcome::Succeeded(_))).count()
            as u64;
    let made = transactions
        .count_documents(doc! { "idempotency_key": { "$regex": "^(trf|swp|stk):[^:]+:fault-" } })
        .await
        .expect("a count");
    if made != succeeded {
        problems.push(format!("{made} ledger records from the load, but {succeeded} requests succeeded"));
    }
    let stakes = requests.iter().filter(|r| r.kind == Kind::Stake && matches!(r.outcome, Outcome::Succeeded(_)));
    let stake_accounts = database
        .collection::<mongodb::bson::Document>("stake_accounts")
        .count_documents(doc! {})
        .await
        .expect("a count");
    if stake_accounts != stakes.count() as u64 {
        problems.push(format!("{stake_accounts} stake accounts, but a different number of stakes succeeded"));
    }

    // Every balance is exactly the sum of its entries in the ledger's records: nothing moved
    // without a record, no record without its movement.
    let mut from_records: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut cursor = transactions.find(doc! {}).await.expect("records");
    while let Some(record) = cursor.try_next().await.expect("a record") {
        for entry in record.get_array("entries").expect("entries") {
            let entry = entry.as_document().expect("an entry");
            let account = entry.get_str("account").expect("an account").to_owned();
            let token = entry.get_str("token").expect("a token").to_owned();
            *from_records.entry((account, token)).or_default() += entry.get_i64("delta").expect("a delta");
        }
    }
    let mut stored: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut cursor = database.collection::<mongodb::bson::Document>("balances").find(doc! {}).await.expect("balances");
    while let Some(balance) = cursor.try_next().await.expect("a balance") {
        let key = (
            balance.get_str("account").expect("account").to_owned(),
            balance.get_str("token").expect("token").to_owned(),
        );
        stored.insert(key, balance.get_i64("amount").expect("an amount"));
    }
    from_records.retain(|_, delta| *delta != 0);
    stored.retain(|_, amount| *amount != 0);
    if from_records != stored {
        let differing = stored.iter().filter(|(k, v)| from_records.get(*k) != Some(v)).count()
            + from_records.keys().filter(|k| !stored.contains_key(*k)).count();
        problems.push(format!("{differing} balance(s) differ from the sum of their ledger entries"));
    }
    for audit in ledger.audit().await.expect("an audit") {
        if !audit.is_sound() {
            problems.push(format!("the books do not balance: {audit:?}"));
        }
    }
    problems
}

/// From the events file: (time, label) of each fault, in order.
fn events(path: &str) -> Vec<(i64, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (ms, label) = line.split_once(' ')?;
            Some((ms.parse().ok()?, label.to_owned()))
        })
        .collect()
}

/// Time from each fault until requests (of `kind`, or of every kind) succeeded again: from the
/// event to the first success after the last uncertain answer that followed it (before the next
/// event).
fn recovery(
    events: &[(i64, String)],
    attempts: &[(i64, bool, Kind)],
    kind: Option<Kind>,
) -> Vec<(String, usize, Option<i64>)> {
    let mut sorted: Vec<(i64, bool)> =
        attempts.iter().filter(|(_, _, k)| kind.is_none_or(|kind| kind == *k)).map(|(t, f, _)| (*t, *f)).collect();
    sorted.sort_unstable();
    let mut report = Vec::new();
    for (i, (at, label)) in events.iter().enumerate() {
        let until = events.get(i + 1).map_or(i64::MAX, |(next, _)| *next);
        let failures: Vec<i64> =
            sorted.iter().filter(|(t, failed)| *failed && *t >= *at && *t < until).map(|(t, _)| *t).collect();
        let recovered = match failures.last() {
            None => Some(0),
            Some(last) => sorted.iter().find(|(t, failed)| !failed && t > last).map(|(t, _)| t - at),
        };
        report.push((label.clone(), failures.len(), recovered));
    }
    report
}

/// The load to run and where `scripts/faults` is told about it.
struct Plan {
    host: String,
    clients: usize,
    ws_clients: usize,
    seconds: u64,
    events_path: String,
    ready_path: String,
}

async fn run(plan: Plan, database: Database, ledger: Ledger) -> bool {
    let Plan { host, clients, ws_clients, seconds, events_path, ready_path } = plan;
    println!("signing up {clients} users through the host…");
    let mut users = Vec::new();
    for _ in 0..clients {
        users.push(sign_up(&host).await);
    }
    let users = Arc::new(users);
    let host = Arc::new(host);
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let started = now_ms();
    std::fs::write(&ready_path, started.to_string()).expect("the ready file is writable");
    println!("load: {clients} clients for {seconds} s (transfers, swaps, stakes, portfolio and stake reads)");
    let until = Instant::now() + Duration::from_secs(seconds);
    let ws_url = format!("{}/ws/prices", host.replacen("http", "ws", 1));
    let watchers: Vec<_> = (0..ws_clients).map(|_| tokio::spawn(watch_prices(ws_url.clone(), until))).collect();
    let tasks: Vec<_> = (0..clients)
        .map(|client| tokio::spawn(load(host.clone(), users.clone(), client, until, timeline.clone())))
        .collect();
    let mut requests = Vec::new();
    for task in tasks {
        requests.extend(task.await.expect("a client task"));
    }

    let mut watches = Vec::new();
    for watcher in watchers {
        watches.push(watcher.await.expect("a websocket client task"));
    }
    let load_ended = now_ms();

    // Requests still unknown get one more try now that the platform is whole again, with the
    // same key — what the user's next click on "Try again" does.
    let unknown_at_end = requests.iter().filter(|r| r.outcome == Outcome::Unknown).count();
    for request in requests.iter_mut().filter(|r| r.outcome == Outcome::Unknown) {
        settle(&host, &users, request, Duration::from_secs(30), &timeline).await;
    }
    let lost = requests.iter().filter(|r| r.outcome == Outcome::Unknown).count();

    let timeline = std::mem::take(&mut *timeline.lock().expect("timeline"));
    let attempts = timeline.attempts.len();
    let uncertain = timeline.attempts.iter().filter(|(_, failed, _)| *failed).count();
    let mut by_kind: BTreeMap<Kind, (usize, usize, usize)> = BTreeMap::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for request in &requests {
        let counts = by_kind.entry(request.kind).or_default();
        match &request.outcome {
            Outcome::Succeeded(_) => counts.0 += 1,
            Outcome::Refused(code) => {
                counts.1 += 1;
                *refusals.entry(code.clone()).or_default() += 1;
            }
            Outcome::Unknown => counts.2 += 1,
        }
    }
    println!("\nrequests: {} over {:.0} s", requests.len(), (now_ms() - started) as f64 / 1000.0);
    for (kind, (ok, refused, unknown)) in &by_kind {
        println!("  {kind:?}: {ok} succeeded, {refused} refused, {unknown} unknown");
    }
    println!("refusals the user saw, by code: {refusals:?}");
    println!(
        "attempts: {attempts}, of which {uncertain} got an uncertain answer (5xx or none): {:.2}% error rate per attempt",
        100.0 * uncertain as f64 / attempts.max(1) as f64
    );
    println!("uncertain answers by request kind and cause: {:?}", timeline.reasons);
    let failed_requests = requests.iter().filter(|r| !matches!(r.outcome, Outcome::Succeeded(_))).count();
    println!(
        "requests that did not succeed (refused or unknown): {failed_requests} ({:.2}%); unknown after the load: {unknown_at_end}, settled by one more try: {}",
        100.0 * failed_requests as f64 / requests.len().max(1) as f64,
        unknown_at_end - lost
    );
    let events = events(&events_path);
    println!("faults injected: {}", events.len());
    let swaps = recovery(&events, &timeline.slow_or_uncertain, Some(Kind::Swap));
    for (i, (label, failures, recovered)) in recovery(&events, &timeline.attempts, None).into_iter().enumerate() {
        let (from, until) = (events[i].0, events.get(i + 1).map_or(i64::MAX, |(next, _)| *next));
        let slowest = timeline.latencies.iter().filter(|(t, _)| *t >= from && *t < until).map(|(_, ms)| *ms).max();
        let slowest = slowest.map_or_else(|| "-".to_owned(), |ms| format!("{:.1} s", ms as f64 / 1000.0));
        match recovered {
            Some(ms) => println!(
                "  {label}: {failures} uncertain answers, every kind of request succeeding again {:.1} s after it, slowest answer {slowest}",
                ms as f64 / 1000.0
            ),
            None => {
                println!(
                    "  {label}: {failures} uncertain answers and no success after the last one, slowest answer {slowest}"
                )
            }
        }
        let (_, troubled, back) = &swaps[i];
        let back = back.map_or_else(|| "never".to_owned(), |ms| format!("{:.1} s after it", ms as f64 / 1000.0));
        println!(
            "      swaps: {troubled} slow (over {SLOW_MS} ms) or uncertain answers; succeeding quickly again {back}"
        );
    }
    if let Some((label, _, back)) =
        events.iter().zip(&swaps).find(|((_, label), _)| label.contains("SIGKILL")).map(|(_, s)| s)
    {
        let met = back.is_some_and(|ms| ms <= SWAP_RECOVERY_TARGET_MS);
        println!(
            "swap recovery after {label:?}: {} (target: within {:.0} s): {}",
            back.map_or_else(|| "never".to_owned(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
            SWAP_RECOVERY_TARGET_MS as f64 / 1000.0,
            if met { "met" } else { "MISSED" }
        );
    }

    let mut problems = verify(&database, &ledger, &requests).await;
    if !watches.is_empty() {
        let reconnects: usize = watches.iter().map(|w| w.reconnects).sum();
        let failed: usize = watches.iter().map(|w| w.failed_connects).sum();
        let heard: usize = watches.iter().map(|w| w.heard.len()).sum();
        println!(
            "live prices: {} websocket clients heard {heard} messages; {reconnects} reconnections, {failed} failed connection attempts",
            watches.len()
        );
        // Prices stopped for each client across the host's death: from its last message before
        // the kill to its first one after.
        if let Some((killed, _)) = events.iter().find(|(_, label)| label.contains("hosts")) {
            let resumed: Vec<i64> = watches
                .iter()
                .filter_map(|w| w.heard.iter().find(|t| *t > killed).map(|first| first - killed))
                .collect();
            match resumed.iter().max() {
                Some(worst) if resumed.len() == watches.len() => println!(
                    "  after the host was killed, every client had prices again within {:.1} s",
                    *worst as f64 / 1000.0
                ),
                _ => problems.push(format!(
                    "{} of {} websocket clients heard no price after the host was killed",
                    watches.len() - resumed.len(),
                    watches.len()
                )),
            }
        }
        let deaf = watches.iter().filter(|w| w.heard.last().is_none_or(|last| load_ended - last > 5_000)).count();
        if deaf > 0 {
            problems.push(format!("{deaf} websocket client(s) heard no price in the last 5 s of the load"));
        }
    }
    if lost > 0 {
        problems.push(format!("{lost} request(s) lost: outcome still unknown after the platform recovered"));
    }
    if problems.is_empty() {
        println!(
            "\nverdict: PASS — requests lost: 0; every success moved money exactly once, every refusal moved nothing; balances equal their ledger entries; supply conserved; no negative balance"
        );
        true
    } else {
        println!("\nverdict: FAIL");
        for problem in problems.iter().take(20) {
            println!("  {problem}");
        }
        false
    }
}

fn main() -> std::process::ExitCode {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}: run through scripts/faults"));
    let host = var("FAULT_HOST");
    let uri = var("MONGODB_URI");
    let database = var("SOLSTICE_DATABASE");
    let events_path = var("FAULT_EVENTS");
    let ready_path = var("FAULT_READY");
    let clients: usize = std::env::var("FAULT_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seconds: u64 = std::env::var("FAULT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(75);
    let ws_clients: usize = std::env::var("FAULT_WS_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let passed = runtime.block_on(async move {
        let client = mongodb::Client::with_uri_str(&uri).await.expect("the database is reachable");
        let database = client.database(&database);
        let ledger = Ledger::new(client.clone(), &database);
        let plan = Plan { host, clients, ws_clients, seconds, events_path, ready_path };
        let passed = run(plan, database, ledger).await;
        // The driver's background work (connection pools, server monitors, sessions being
        // handed back) is wound down here, while the runtime still runs it, instead of being
        // torn away as the runtime drops: a panic there would turn a verdict into a failure.
        client.shutdown().immediate(true).await;
        passed
    });
    if passed { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
