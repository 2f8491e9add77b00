//! Typed clients of the services the host calls: each route is written here once, on the calling
//! side, with the types it sends and returns. The transport (signing, replicas, retries) is the
//! kit's [`ServiceClient`].

use std::time::Duration;

use solstice_kit::{auth::SigningKey, client::ServiceClient, start::StartError};
use solstice_types::{
    ApiError, Reference, WalletAddress,
    activity::{ActivityFilter, ActivityPage, ActivityRow},
    portfolio::{Portfolio, ValueHistory, ValueRange},
    stake::{StakeAccount, StakeOverview, StakeRequest, UnstakeRequest, WithdrawRequest},
    swap::{ExecuteSwap, Quote, QuoteRequest, Swap, SwapPage},
    transfer::{Recipient, SendTransfer, Transfer, TransferPage},
};

/// Where each service runs: one base URL or several separated by commas (one per replica).
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub portfolio: String,
    pub transfer: String,
    pub swap: String,
    pub stake: String,
}

/// Clients of the services the host calls.
#[derive(Debug, Clone)]
pub struct Services {
    pub portfolio: PortfolioClient,
    pub transfer: TransferClient,
    pub swap: SwapClient,
    pub stake: StakeClient,
}

impl Services {
    /// Clients signing with `key`, each attempt waiting at most `timeout`. Refuses URLs that
    /// are not http(s), so that a misconfigured host does not start.
    pub fn new(urls: &ServiceUrls, key: SigningKey, timeout: Duration) -> Result<Services, StartError> {
        let client = |name, urls: &str| ServiceClient::new(name, urls, key.clone(), timeout);
        Ok(Services {
            portfolio: PortfolioClient(client("portfolio", &urls.portfolio)?),
            transfer: TransferClient(client("transfer", &urls.transfer)?),
            swap: SwapClient(client("swap", &urls.swap)?),
            stake: StakeClient(client("stake", &urls.stake)?),
        })
    }
}

/// The portfolio service: holdings at live prices.
#[derive(Debug, Clone)]
pub struct PortfolioClient(ServiceClient);

impl PortfolioClient {
    pub async fn portfolio(&self, wallet: &WalletAddress) -> Result<Portfolio, ApiError> {
        self.0.get("/v1/portfolio", &[], wallet).await
    }

    /// The wallet's value over `range`, and what each holding cost.
    pub async fn history(&self, wallet: &WalletAddress, range: ValueRange) -> Result<ValueHistory, ApiError> {
        self.0.get("/v1/portfolio/history", &[("range", range.as_str().to_owned())], wallet).await
    }

    /// A page of the wallet's activity matching `filter`, newest first, after `before`, at
    /// most `limit` rows (the service's default when `None`).
    pub async fn activity(
        &self,
        wallet: &WalletAddress,
        filter: &ActivityFilter,
        before: Option<&Reference>,
        limit: Option<u32>,
    ) -> Result<ActivityPage, ApiError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(kind) = filter.kind {
            query.push(("kind", kind.as_str().to_owned()));
        }
        if let Some(token) = filter.token {
            query.push(("token", token.symbol().to_owned()));
        }
        query.extend(filter.from.clone().map(|day| ("from", day)));
        query.extend(filter.to.clone().map(|day| ("to", day)));
        query.extend(before.map(|before| ("before", before.to_string())));
        query.extend(limit.map(|limit| ("limit", limit.to_string())));
        self.0.get("/v1/activity", &query, wallet).await
    }

    /// One row of the wallet's activity (`not_found` when it is not the wallet's).
    pub async fn activity_row(&self, wallet: &WalletAddress, reference: &Reference) -> Result<ActivityRow, ApiError> {
        self.0.get(&format!("/v1/activity/{reference}"), &[], wallet).await
    }
}

/// The transfer service: sending to another wallet, history, receipts.
#[derive(Debug, Clone)]
pub struct TransferClient(ServiceClient);

impl TransferClient {
    pub async fn send(&self, wallet: &WalletAddress, request: &SendTransfer) -> Result<Transfer, ApiError> {
        self.0.post("/v1/transfers", wallet, request).await
    }

    /// Whether `address` can receive transfers (`not_found` when it is no Solstice wallet).
    pub async fn recipient(&self, wallet: &WalletAddress, address: &WalletAddress) -> Result<Recipient, ApiError> {
        self.0.get(&format!("/v1/recipients/{address}"), &[], wallet).await
    }

    /// A page of the wallet's transfers, newest first; `before` is the previous page's cursor.
    pub async fn history(&self, wallet: &WalletAddress, before: Option<String>) -> Result<TransferPage, ApiError> {
        let query: Vec<(&str, String)> = before.into_iter().map(|before| ("before", before)).collect();
        self.0.get("/v1/transfers", &query, wallet).await
    }

    pub async fn transfer(&self, wallet: &WalletAddress, reference: &Reference) -> Result<Transfer, ApiError> {
        self.0.get(&format!("/v1/transfers/{reference}"), &[], wallet).await
    }
}

/// Which swaps to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct SwapFilter {
    pub token: Option<String>,
    /// Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until_ms: Option<i64>,
    /// The previous page's cursor.
    pub before: Option<String>,
}

/// The swap service: the exchange.
#[derive(Debug, Clone)]
pub struct SwapClient(ServiceClient);

impl SwapClient {
    pub async fn quote(&self, wallet: &WalletAddress, request: &QuoteRequest) -> Result<Quote, ApiError> {
        self.0.post("/v1/quotes", wallet, request).await
    }

    pub async fn execute(&self, wallet: &WalletAddress, request: &ExecuteSwap) -> Result<Swap, ApiError> {
        self.0.post("/v1/swaps", wallet, request).await
    }

    pub async fn history(&self, wallet: &WalletAddress, filter: SwapFilter) -> Result<SwapPage, ApiError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        query.extend(filter.token.map(|token| ("token", token)));
        query.extend(filter.since_ms.map(|ms| ("since", ms.to_string())));
        query.extend(filter.until_ms.map(|ms| ("until", ms.to_string())));
        query.extend(filter.before.map(|before| ("before", before)));
        self.0.get("/v1/swaps", &query, wallet).await
    }

    pub async fn swap(&self, wallet: &WalletAddress, reference: &Reference) -> Result<Swap, ApiError> {
        self.0.get(&format!("/v1/swaps/{reference}"), &[], wallet).await
    }
}

/// The stake service: validators, epochs, stake accounts.
#[derive(Debug, Clone)]
pub struct StakeClient(ServiceClient);

impl StakeClient {
    /// The epoch, the validators and the wallet's stake accounts.
    pub async fn overview(&self, wallet: &WalletAddress) -> Result<StakeOverview, ApiError> {
        self.0.get("/v1/stakes", &[], wallet).await
    }

    pub async fn stake(&self, wallet: &WalletAddress, request: &StakeRequest) -> Result<StakeAccount, ApiError> {
        self.0.post("/v1/stakes", wallet, request).await
    }

    pub async fn unstake(
        &self,
        wallet: &WalletAddress,
        account: &WalletAddress,
        request: &UnstakeRequest,
    ) -> Result<StakeAccount, ApiError> {
        self.0.post(&format!("/v1/stakes/{account}/unstake"), wallet, request).await
    }

    pub async fn withdraw(
        &self,
        wallet: &WalletAddress,
        account: &WalletAddress,
        request: &WithdrawRequest,
    ) -> Result<StakeAccount, ApiError> {
        self.0.post(&format!("/v1/stakes/{account}/withdraw"), wallet, request).await
    }
}
