//! Limits on log-in attempts and sign-ups, shared by all host replicas through MongoDB.
//!
//! Wallet addresses are public (people share them to get paid), so a limit must never let a
//! stranger lock an owner out. Failed log-ins are therefore limited
//! - per (address, client): a network that guesses one wallet's password is refused after a few
//!   failures, and only that network;
//! - per client, across addresses: a network cannot guess at many wallets;
//! - per address, across clients, by *slowing down*, not refusing: past a budget of failures
//!   from everywhere, the wallet takes one attempt per interval from networks that never logged
//!   in to it, which bounds a distributed guesser to a few attempts a minute. Networks the owner
//!   logged in from before are not slowed, so a distributed attack does not stop the owner.
//!
//! A client is its IPv4 address, or the /64 prefix of its IPv6 address (one subscriber gets a
//! whole /64, so single IPv6 addresses would be endless fresh keys).
//!
//! Each key has one counter document whose window starts with its first attempt and which is
//! replaced once the window is over (a TTL index also removes it). An attempt is counted
//! *before* the password is checked, atomically, so a burst of simultaneous guesses cannot all
//! slip past the check; a successful log-in takes its attempts back.
//!
//! Sign-ups are limited per client per window, and the faucet's SOL per client per day.

use std::{
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, Document, doc},
    options::{IndexOptions, ReturnDocument},
};
use serde::{Deserialize, Serialize};
use solstice_ledger::is_duplicate_key;
use solstice_types::{Amount, ApiError, ErrorCode, Token, WalletAddress};

use super::error::HostError;

/// Collection of attempt counters.
pub const ATTEMPTS: &str = "rate_limits";
/// How long a network the owner logged in from stays exempt from an address's slowing down.
const KNOWN_NETWORK: Duration = Duration::from_secs(30 * 24 * 3600);
/// The faucet's budget per client is per day.
const FAUCET_DAY: Duration = Duration::from_secs(24 * 3600);

/// How many attempts are allowed per window.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failed log-ins per (wallet address, client) before that client is refused for it.
    pub login_per_address_and_client: u32,
    /// Failed log-ins per wallet address, from all clients, before the address is slowed down.
    pub login_per_address: u32,
    /// Once slowed down, an address takes one attempt per this interval from unknown networks.
    pub login_slowed_interval: Duration,
    /// Failed log-ins per client, across addresses.
    pub login_per_client: u32,
    /// Sign-ups per client.
    pub signup_per_client: u32,
    /// SOL the faucet gives per client per day, in base units.
    pub faucet_per_client_per_day: Amount,
    /// SOL the faucet gives everyone together per day, in base units.
    pub faucet_per_day: Amount,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            login_per_address_and_client: 5,
            login_per_address: 20,
            login_slowed_interval: Duration::from_secs(15),
            login_per_client: 30,
            signup_per_client: 10,
            faucet_per_client_per_day: Amount::from_whole(2_000, Token::Sol.decimals()).expect("in range"),
            faucet_per_day: Amount::from_whole(1_000_000, Token::Sol.decimals()).expect("in range"),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Whose faucet budget ran out.
#[derive(Debug, Clone, Copy)]
enum FaucetScope {
    Network,
    Everyone,
}

/// The /48 of an IPv6 client (a site); `None` for IPv4.
fn site_key(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & !((1_u128 << 80) - 1);
            Some(format!("{}/48", Ipv6Addr::from(prefix)))
        }
        _ => None,
    }
}

/// The key of a client for the limits: its IPv4 address, or its IPv6 /64 prefix.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
    }
}

fn minutes_or_seconds(wait_ms: i64) -> String {
    if wait_ms < 60_000 {
        let seconds = ((wait_ms + 999) / 1_000).max(1);
        return if seconds == 1 { "a second".to_owned() } else { format!("{seconds} seconds") };
    }
    let minutes = (wait_ms + 59_999) / 60_000;
    if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CounterDoc {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
    expires_at: DateTime,
}

/// Counts attempts and refuses those past the limits.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    counters: Collection<CounterDoc>,
    limits: Limits,
}

/// Attempts counted for one log-in, to be taken back if it turns out fine.
#[must_use]
pub struct Counted {
    ids: Vec<String>,
    /// Where the successful log-in came from, to remember as the owner's network.
    known: Option<String>,
}

impl RateLimiter {
    pub fn new(database: &Database, limits: Limits) -> RateLimiter {
        RateLimiter { counters: database.collection(ATTEMPTS), limits }
    }

    pub async fn init(&self) -> Result<(), mongodb::error::Error> {
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).name("expires_at_ttl".to_owned()).build();
        self.counters.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build()).await?;
        Ok(())
    }

    fn documents(&self) -> Collection<Document> {
        self.counters.clone_with_type()
    }

    /// Counts a log-in attempt; refuses it when the address is being slowed down and this
    /// attempt's turn has not come, or when its client is past a limit.
    pub async fn log_in_attempt(&self, address: &WalletAddress, client: Option<IpAddr>) -> Result<Counted, HostError> {
        let client = client.map(client_key);
        // The address first. An attempt refused because the address is slowed down checks no
        // password, so it is not counted against its client: an owner retrying while strangers
        // guess must not run into the limit of their own network.
        let address_id = format!("login-address:{address}");
        let failures = self.bump(&address_id, self.limits.window).await?;
        // Slowed down past the budget, and for as long as turns keep being taken (each extends
        // the slowing by a window), so that a steady guesser does not get a fresh budget every
        // window.
        let over_budget =
            failures.count > i64::from(self.limits.login_per_address) || self.is_slowed_down(address).await?;
        if over_budget
            && !self.is_known(address, client.as_deref()).await?
            && let Err(wait_ms) = self.take_turn(address).await?
        {
            let message = format!(
                "This wallet has had many failed log-in attempts, so log-ins to it are slowed down. Try again in {}.",
                minutes_or_seconds(wait_ms)
            );
            return Err(ApiError::new(ErrorCode::RateLimited, message).into());
        }
        let mut keys = Vec::new();
        if let Some(client) = &client {
            keys.push((format!("login-pair:{address}:{client}"), self.limits.login_per_address_and_client));
            keys.push((format!("login-client:{client}"), self.limits.login_per_client));
        }
        let mut ids = self.count(keys, "Too many failed log-in attempts.").await?;
        ids.push(address_id);
        Ok(Counted { ids, known: client })
    }

    /// Whether log-ins to `address` are being slowed down (a turn was taken within a window).
    async fn is_slowed_down(&self, address: &WalletAddress) -> Result<bool, HostError> {
        let id = format!("login-turn:{address}");
        Ok(self.documents().find_one(doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } }).await?.is_some())
    }

    /// Whether the owner logged in to `address` from `client` lately.
    async fn is_known(&self, address: &WalletAddress, client: Option<&str>) -> Result<bool, HostError> {
        let Some(client) = client else { return Ok(false) };
        let id = format!("login-known:{address}:{client}");
        Ok(self.documents().find_one(doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } }).await?.is_some())
    }

    /// The slowed-down address's next turn: `Ok` if this attempt may go ahead, or how many
    /// milliseconds until the next one may.
    async fn take_turn(&self, address: &WalletAddress) -> Result<Result<(), i64>, HostError> {
        let id = format!("login-turn:{address}");
        let now = DateTime::now();
        let next = DateTime::from_millis(now.timestamp_millis() + self.limits.login_slowed_interval.as_millis() as i64);
        let expires = DateTime::from_millis(now.timestamp_millis() + self.limits.window.as_millis() as i64);
        let turns = self.documents();
        match turns.insert_one(doc! { "_id": &id, "next_at": next, "expires_at": expires }).await {
            Ok(_) => return Ok(Ok(())),
            Err(error) if is_duplicate_key(&error) => {}
            Err(error) => return Err(error.into()),
        }
        // One attempt per interval: only the first to move `next_at` forward gets the turn.
        let taken = turns
            .find_one_and_update(
                doc! { "_id": &id, "next_at": { "$lte": now } },
                doc! { "$set": { "next_at": next, "expires_at": expires } },
            )
            .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let waiting = turns.find_one(doc! { "_id": &id }).await?;
        let next_at = waiting.and_then(|turn| turn.get_datetime("next_at").ok().copied()).unwrap_or(next);
        Ok(Err((next_at.timestamp_millis() - now.timestamp_millis()).max(0)))
    }

    /// Counts a sign-up against the client; refuses it past the limit.
    pub async fn sign_up_attempt(&self, client: Option<IpAddr>) -> Result<(), HostError> {
        if let Some(ip) = client {
            // Every sign-up counts, successful or not: the attempt is never taken back.
            let _counted = self
                .count(
                    vec![(format!("signup-client:{}", client_key(ip)), self.limits.signup_per_client)],
                    "Too many sign-ups from your network.",
                )
                .await?;
        }
        Ok(())
    }

    /// The faucet's daily budgets a sign-up from `client` draws on: the client's, for IPv6 its
    /// /48's (a site: ten clients' worth, so that one site's many /64s do not each get a
    /// budget), and everyone's.
    fn faucet_budgets(&self, client: Option<IpAddr>) -> Vec<(String, Amount, FaucetScope)> {
        let per_client = self.limits.faucet_per_client_per_day;
        let mut budgets = Vec::new();
        if let Some(ip) = client {
            budgets.push((format!("faucet-client:{}", client_key(ip)), per_client, FaucetScope::Network));
            if let Some(site) = site_key(ip) {
                let per_site =
                    Amount::from_base_units(per_client.base_units().saturating_mul(10)).unwrap_or(Amount::MAX);
                budgets.push((format!("faucet-site:{site}"), per_site, FaucetScope::Network));
            }
        }
        budgets.push(("faucet-all".to_owned(), self.limits.faucet_per_day, FaucetScope::Everyone));
        budgets
    }

    /// What is left today of the budget `id`.
    async fn faucet_budget_left(&self, id: &str, budget: Amount) -> Result<Amount, HostError> {
        let used = self
            .documents()
            .find_one(doc! { "_id": id, "expires_at": { "$gt": DateTime::now() } })
            .await?
            .and_then(|day| day.get_i64("used").ok())
            .unwrap_or(0);
        let used = Amount::from_base_units(u64::try_from(used).unwrap_or(0)).unwrap_or(Amount::MAX);
        Ok(budget.checked_sub(used).unwrap_or(Amount::ZERO))
    }

    /// How much SOL the faucet can still give the client today.
    pub async fn faucet_left(&self, client: Option<IpAddr>) -> Result<Amount, HostError> {
        let mut left = Amount::MAX;
        for (id, budget, _) in self.faucet_budgets(client) {
            left = left.min(self.faucet_budget_left(&id, budget).await?);
        }
        Ok(left)
    }

    /// Takes `amount` from each of the client's faucet budgets for today, or takes nothing and
    /// says how much is left.
    pub async fn reserve_faucet(&self, client: Option<IpAddr>, amount: Amount) -> Result<(), HostError> {
        let mut taken: Vec<String> = Vec::new();
        for (id, budget, scope) in self.faucet_budgets(client) {
            if self.take_from_budget(&id, budget, amount).await? {
                taken.push(id);
                continue;
            }
            for id in &taken {
                self.give_back(id, amount).await?;
            }
            let message = match scope {
                FaucetScope::Everyone => "The faucet has given out all of today's SOL. Try again tomorrow.".to_owned(),
                FaucetScope::Network => {
                    let left = self.faucet_left(client).await?;
                    if left.is_zero() {
                        "Your network has received today's faucet SOL. Try again tomorrow.".to_owned()
                    } else {
                        format!(
                            "Your network can receive at most {} SOL more from the faucet today.",
                            left.format_display(Token::Sol.decimals(), 9)
                        )
                    }
                }
            };
            return Err(ApiError::new(ErrorCode::RateLimited, message).into());
        }
        Ok(())
    }

    /// Takes `amount` from today's budget `id` if that much is left. Atomic: the budget is
    /// checked and taken in one update, so simultaneous sign-ups cannot overdraw it.
    async fn take_from_budget(&self, id: &str, budget: Amount, amount: Amount) -> Result<bool, HostError> {
        self.open_window(id, FAUCET_DAY, "used").await?;
        let taken = self
            .documents()
            .find_one_and_update(
                doc! { "_id": id, "used": { "$lte": budget.as_i64().saturating_sub(amount.as_i64()) } },
                doc! { "$inc": { "used": amount.as_i64() } },
            )
            .await?;
        Ok(taken.is_some())
    }

    async fn give_back(&self, id: &str, amount: Amount) -> Result<(), HostError> {
        let amount = amount.as_i64();
        self.documents()
            .update_one(doc! { "_id": id, "used": { "$gte": amount } }, doc! { "$inc": { "used": -amount } })
            .await?;
        Ok(())
    }

    /// Gives back a reservation whose sign-up failed.
    pub async fn release_faucet(&self, client: Option<IpAddr>, amount: Amount) -> Result<(), HostError> {
        for (id, _, _) in self.faucet_budgets(client) {
            self.give_back(&id, amount).await?;
        }
        Ok(())
    }

    async fn count(&self, keys: Vec<(String, u32)>, what: &str) -> Result<Vec<String>, HostError> {
        let mut counted = Vec::with_capacity(keys.len());
        let mut retry_at_ms = None;
        for (id, limit) in keys {
            let counter = self.bump(&id, self.limits.window).await?;
            if counter.count > i64::from(limit) {
                retry_at_ms = retry_at_ms.max(Some(counter.expires_at.timestamp_millis()));
            }
            counted.push(id);
        }
        if let Some(retry_at_ms) = retry_at_ms {
            let wait_ms = (retry_at_ms - DateTime::now().timestamp_millis()).max(0);
            let when = minutes_or_seconds(wait_ms.max(60_000));
            return Err(ApiError::new(ErrorCode::RateLimited, format!("{what} Try again in {when}.")).into());
        }
        Ok(counted)
    }

    /// Adds one to the key's counter, starting a new window if the last one is over.
    async fn bump(&self, id: &str, window: Duration) -> Result<CounterDoc, HostError> {
        let ends = self.open_window(id, window, "count").await?;
        let counter = self
            .counters
            .find_one_and_update(doc! { "_id": id }, doc! { "$inc": { "count": 1_i64 } })
            .return_document(ReturnDocument::After)
            .await?;
        // The counter can only vanish if its window ended in between; count this attempt as the
        // first of a new one.
        Ok(counter.unwrap_or(CounterDoc { id: id.to_owned(), count: 1, expires_at: ends }))
    }

    /// Makes sure counter `id` exists with a window that is not over: one that is over is
    /// replaced (not continued) by a new one of `window` whose `field` is 0. Created by an
    /// insert, which happens whole or not at all, so that the caller can then count with a
    /// plain atomic update: no racing upserts. Returns when a new window would end.
    async fn open_window(&self, id: &str, window: Duration, field: &str) -> Result<DateTime, HostError> {
        let now = DateTime::now();
        let counters = self.documents();
        counters.delete_one(doc! { "_id": id, "expires_at": { "$lte": now } }).await?;
        let ends = DateTime::from_millis(now.timestamp_millis() + window.as_millis() as i64);
        match counters.insert_one(doc! { "_id": id, field: 0_i64, "expires_at": ends }).await {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(ends)
    }

    /// A successful log-in: takes its attempts back, so that only failures count against the
    /// limits, and remembers its network as one the owner uses.
    pub async fn succeeded(&self, address: &WalletAddress, counted: Counted) -> Result<(), HostError> {
        for id in counted.ids {
            self.counters
                .update_one(doc! { "_id": &id, "count": { "$gt": 0_i64 } }, doc! { "$inc": { "count": -1_i64 } })
                .await?;
        }
        if let Some(client) = counted.known {
            let expires = DateTime::from_millis(DateTime::now().timestamp_millis() + KNOWN_NETWORK.as_millis() as i64);
            self.documents()
                .update_one(
                    doc! { "_id": format!("login-known:{address}:{client}") },
                    doc! { "$set": { "expires_at": expires } },
                )
                .upsert(true)
                .await
                .or_else(|error| if is_duplicate_key(&error) { Ok(Default::default()) } else { Err(error) })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let key = |text: &str| client_key(text.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(site_key("2001:db8:1:2::1".parse().unwrap()).as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(site_key("203.0.113.9".parse().unwrap()), None);
    }

    #[test]
    fn waits_are_said_in_seconds_or_minutes() {
        assert_eq!(minutes_or_seconds(400), "a second");
        assert_eq!(minutes_or_seconds(14_200), "15 seconds");
        assert_eq!(minutes_or_seconds(60_000), "a minute");
        assert_eq!(minutes_or_seconds(14 * 60_000 + 1), "15 minutes");
    }
}
