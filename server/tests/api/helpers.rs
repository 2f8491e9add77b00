//! Starting a platform (a host, with or without the four services, over a fresh database),
//! talking to it as a browser does, and reading its books.

use std::collections::BTreeMap;

use app::backend::services::ServiceUrls;
use mongodb::{Database, bson::doc};
use reqwest::StatusCode;
use serde_json::Value;
use server::{Application, Config};
use solstice_kit::start::Service;
use solstice_ledger::{AccountId, Ledger};
use solstice_types::{Amount, Token, WalletAddress};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// A host (with the services and a market recorder of the simulated market, when started so)
/// over a database of its own, and its books.
pub struct TestPlatform {
    /// The host's base URL, `http://127.0.0.1:PORT`.
    pub host: String,
    pub database: Database,
    pub ledger: Ledger,
    /// The services' URLs, when the platform has them.
    pub services: Option<ServiceUrls>,
}

impl TestPlatform {
    /// A host alone over a fresh database (server functions that need a service answer
    /// "unavailable"), with the test defaults changed by `configure`.
    /// No recorder runs: the host has no prices.
    pub async fn host_only(configure: impl FnOnce(&mut Config)) -> TestPlatform {
        let (client, database) = solstice_testkit::fresh_database().await;
        let host = start_host(database.name(), configure).await;
        TestPlatform { host, ledger: Ledger::new(client, &database), database, services: None }
    }

    /// A host alone and a recorder, each with the test defaults changed.
    pub async fn host_and_recorder(
        configure: impl FnOnce(&mut Config),
        recorder: impl FnOnce(&mut solstice_recorder::Config),
    ) -> TestPlatform {
        let (client, database) = solstice_testkit::fresh_database().await;
        start_recorder(&database, recorder).await;
        let host = start_host(database.name(), configure).await;
        TestPlatform { host, ledger: Ledger::new(client, &database), database, services: None }
    }

    /// A host wired to all four services over one fresh database.
    pub async fn with_services() -> TestPlatform {
        TestPlatform::with_services_and(|_| {}).await
    }

    /// [`TestPlatform::with_services`], with the host's test defaults changed by `configure`.
    pub async fn with_services_and(configure: impl FnOnce(&mut Config) + Send + 'static) -> TestPlatform {
        let (client, database) = solstice_testkit::fresh_database().await;
        start_recorder(&database, |_| {}).await;
        let services = start_services(database.name()).await;
        let urls = services.clone();
        let host = start_host(database.name(), move |config| {
            config.portfolio_url = urls.portfolio;
            config.transfer_url = urls.transfer;
            config.swap_url = urls.swap;
            config.stake_url = urls.stake;
            configure(config);
        })
        .await;
        TestPlatform { host, ledger: Ledger::new(client, &database), database, services: Some(services) }
    }

    /// Another host process over the same database; returns its base URL.
    pub async fn another_host(&self, configure: impl FnOnce(&mut Config)) -> String {
        start_host(self.database.name(), configure).await
    }

    /// A browser with no cookies yet, pointed at the host.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.host)
    }

    /// A new user holding `initial_sol`, logged in in their own browser, and their address.
    pub async fn user(&self, initial_sol: &str) -> (Browser, String) {
        let browser = self.browser();
        let (status, body) = browser.sign_up(initial_sol).await;
        assert_eq!(status, StatusCode::OK, "sign-up: {body}");
        (browser, text(&body["address"]))
    }

    /// A wallet's SOL, straight from the ledger.
    pub async fn sol_balance(&self, address: &str) -> Amount {
        let wallet = WalletAddress::parse(address).expect("a wallet address");
        self.ledger.balance(&AccountId::wallet(&wallet), Token::Sol).await.expect("the ledger answers")
    }

    /// Every balance a wallet holds or held, straight from the ledger.
    pub async fn balances(&self, address: &str) -> BTreeMap<Token, Amount> {
        balances(&self.ledger, address).await
    }

    /// How many user accounts exist.
    pub async fn users(&self) -> u64 {
        self.database.collection::<mongodb::bson::Document>("users").count_documents(doc! {}).await.unwrap()
    }

    /// Every token's books balance and no balance is negative.
    pub async fn assert_books_balance(&self) {
        solstice_testkit::assert_books_balance(&self.ledger).await;
    }
}

/// Every balance a wallet holds or held, straight from `ledger`.
pub async fn balances(ledger: &Ledger, address: &str) -> BTreeMap<Token, Amount> {
    let wallet = WalletAddress::parse(address).expect("a wallet address");
    ledger.reader().balances(&AccountId::wallet(&wallet)).await.expect("the ledger answers")
}

/// Starts a host over `database` with the test defaults changed by `configure`; returns its
/// base URL.
///
/// The host runs on a thread of its own with the stack the real binary gives its threads
/// (8 MiB, see `main.rs`): rendering a page's view tree, in a debug build, goes deeper than the
/// 2 MiB of a test's thread.
pub async fn start_host(database: &str, configure: impl FnOnce(&mut Config)) -> String {
    let mut config = Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    configure(&mut config);
    let (started, address) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("host".to_owned())
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let host = Application::build(config).await.expect("the host starts");
                let _ = started.send(host.local_addr());
                let _ = host.run_until_stopped(std::future::pending()).await;
            });
        })
        .expect("the host's thread starts");
    format!("http://{}", address.await.expect("the host starts"))
}

/// A market recorder of the simulated market over `database`, with the test defaults changed
/// by `configure`; returns its base URL once its first tick is stored.
pub async fn start_recorder(database: &Database, configure: impl FnOnce(&mut solstice_recorder::Config)) -> String {
    let mut config = solstice_recorder::Config::for_tests(solstice_testkit::mongodb_uri(), database.name().to_owned());
    configure(&mut config);
    let started = solstice_recorder::build(config).await.expect("the recorder starts");
    let base = format!("http://{}", started.service.local_addr());
    tokio::spawn(solstice_recorder::run(started, std::future::pending()));
    let store = solstice_market::store::MarketStore::new(database);
    for _ in 0..100 {
        if store.latest().await.expect("the store answers").is_some() {
            return base;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the recorder wrote no tick");
}

/// Serves a built service on its free port and returns its base URL.
async fn serve(service: Service) -> String {
    let base = format!("http://{}", service.local_addr());
    tokio::spawn(service.run_until_stopped(std::future::pending()));
    base
}

/// The portfolio service over `database`; returns its base URL.
pub async fn start_portfolio(database: &str) -> String {
    let config = solstice_portfolio::Config::for_tests(solstice_testkit::mongodb_uri(), database.to_owned());
    serve(solstice_portfolio::build(config).await.expect("the portfolio service starts")).await
}

/// The four services over `database`, configured with the secret the tests' host uses.
pub async fn start_services(database: &str) -> ServiceUrls {
    let uri = solstice_testkit::mongodb_uri;
    let name = || database.to_owned();
    let transfer = solstice_transfer::build(solstice_transfer::Config::for_tests(uri(), name()));
    let swap = solstice_swap::build(solstice_swap::Config::for_tests(uri(), name()));
    let stake = solstice_stake::build(solstice_stake::Config::for_tests(uri(), name()));
    ServiceUrls {
        portfolio: start_portfolio(database).await,
        transfer: serve(transfer.await.expect("the transfer service starts")).await,
        swap: serve(swap.await.expect("the swap service starts")).await,
        stake: serve(stake.await.expect("the stake service starts")).await,
    }
}

/// A browser: keeps its cookies between requests, and calls server functions as the app does.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    /// The host it talks to.
    pub host: String,
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new(host: &str) -> Browser {
        Browser { client: reqwest::Client::builder().cookie_store(true).build().unwrap(), host: host.to_owned() }
    }

    /// The same browser (same cookies) talking to another host.
    pub fn at(&self, host: &str) -> Browser {
        Browser { client: self.client.clone(), host: host.to_owned() }
    }

    /// Posts `form` to a server function; returns the status and the JSON body (`Null` when
    /// there is none).
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.call_with(function, form, &[]).await
    }

    /// [`Browser::call`] with extra request headers.
    pub async fn call_with(
        &self,
        function: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}/api/{function}", self.host)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the host answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs up with [`PASSWORD`] and `initial_sol`.
    pub async fn sign_up(&self, initial_sol: &str) -> (StatusCode, Value) {
        self.call("sign_up", &sign_up_form(initial_sol)).await
    }

    /// Who the browser is logged in as (`Null` for a visitor).
    pub async fn current_user(&self) -> Value {
        let (status, body) = self.call("current_user", &[]).await;
        assert_eq!(status, StatusCode::OK, "current_user: {body}");
        body
    }

    /// The logged-in user's SOL in base units, as the app shell shows it.
    pub async fn sol_balance(&self) -> u64 {
        let me = self.current_user().await;
        me["sol_balance"].as_u64().unwrap_or_else(|| panic!("not logged in: {me}"))
    }

    /// A firm quote for swapping `amount` SOL to USDC, with the widest slippage tolerance so
    /// that the market moving during a test never refuses the fill.
    pub async fn quote(&self, amount: &str) -> Value {
        let form = [("from", "SOL"), ("to", "USDC"), ("amount", amount), ("side", "exact_in"), ("slippage_bps", "500")];
        let (status, quote) = self.call("swap_quote", &form).await;
        assert_eq!(status, StatusCode::OK, "swap_quote: {quote}");
        quote
    }
}

/// The sign-up form with [`PASSWORD`].
pub fn sign_up_form(initial_sol: &str) -> [(&'static str, &str); 3] {
    [("password", PASSWORD), ("confirm_password", PASSWORD), ("initial_sol", initial_sol)]
}

pub fn sol(amount: &str) -> Amount {
    Amount::parse(amount, Token::Sol.decimals()).unwrap()
}

/// A JSON string's text.
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}
