//! Each token's supply, issued once when a ledger is first set up.

use mongodb::{IndexModel, bson::doc, options::IndexOptions};
use solstice_types::{Amount, ReferenceKind, Token};

use crate::{AccountId, IdempotencyKey, Ledger, LedgerError, Leg, SystemAccount, TransactionRequest};

/// Each token's supply, issued once into the system accounts when a ledger is first set up:
/// (token, receiving account, whole tokens).
pub const GENESIS: &[(Token, SystemAccount, u64)] = &[
    (Token::Sol, SystemAccount::Faucet, 100_000_000),
    (Token::Sol, SystemAccount::Treasury, 10_000_000),
    (Token::Sol, SystemAccount::StakeRewards, 1_000_000),
    (Token::Usdc, SystemAccount::Treasury, 2_000_000_000),
    (Token::Usdt, SystemAccount::Treasury, 2_000_000_000),
    (Token::Jup, SystemAccount::Treasury, 2_000_000_000),
    (Token::Bonk, SystemAccount::Treasury, 10_000_000_000_000),
    (Token::Ray, SystemAccount::Treasury, 200_000_000),
    (Token::Jto, SystemAccount::Treasury, 200_000_000),
];

impl Ledger {
    /// Creates the indexes and issues the genesis supply. Safe to run from every replica at
    /// every start: both steps are idempotent.
    pub async fn init(&self) -> Result<(), LedgerError> {
        let unique = IndexOptions::builder().unique(true).name("idempotency_key_unique".to_owned()).build();
        self.transactions
            .create_index(IndexModel::builder().keys(doc! { "idempotency_key": 1 }).options(unique).build())
            .await?;
        // What a transaction does once only (a quote's fill), where it says so.
        let once = IndexOptions::builder()
            .unique(true)
            .partial_filter_expression(doc! { "once": { "$exists": true } })
            .name("once_unique".to_owned())
            .build();
        self.transactions.create_index(IndexModel::builder().keys(doc! { "once": 1 }).options(once).build()).await?;
        // An account's history of one kind, newest first (references sort by time).
        self.transactions
            .create_index(IndexModel::builder().keys(doc! { "accounts": 1, "kind": 1, "_id": -1 }).build())
            .await?;
        // An account's activity, newest first, and the rewards of its stake accounts.
        self.transactions
            .create_index(IndexModel::builder().keys(doc! { "accounts": 1, "created_at": -1, "_id": -1 }).build())
            .await?;
        self.transactions
            .create_index(
                IndexModel::builder().keys(doc! { "details.stake_account": 1, "created_at": -1, "_id": -1 }).build(),
            )
            .await?;
        // Every host follows new records by time, to tell browsers their money moved.
        self.transactions.create_index(IndexModel::builder().keys(doc! { "created_at": 1 }).build()).await?;
        self.balances.create_index(IndexModel::builder().keys(doc! { "account": 1 }).build()).await?;
        for token in Token::ALL {
            let legs: Vec<Leg> = GENESIS
                .iter()
                .filter(|(t, _, _)| *t == token)
                .map(|(token, account, whole)| Leg {
                    from: AccountId::System(SystemAccount::Issuance),
                    to: AccountId::System(*account),
                    token: *token,
                    amount: Amount::from_whole(*whole, token.decimals()).expect("genesis amounts fit a balance"),
                })
                .collect();
            if legs.is_empty() {
                continue;
            }
            let key = IdempotencyKey::new(format!("genesis:v1:{token}"))?;
            self.apply_when_free(TransactionRequest::new(ReferenceKind::Genesis, key, legs)).await?;
        }
        Ok(())
    }

    /// Applies `request`, trying again while the ledger is busy, for up to [`START_PATIENCE`].
    /// Every service issues the genesis as it starts, and on a fresh database they all start at
    /// once: their identical transactions conflict until one lands, and on a slow database that
    /// took longer than one call's retry budget, so a service failed to start.
    async fn apply_when_free(&self, request: TransactionRequest) -> Result<(), LedgerError> {
        let started = std::time::Instant::now();
        loop {
            match self.apply(request.clone()).await {
                Err(LedgerError::Busy) if started.elapsed() < START_PATIENCE => {
                    // Jittered, so that the services that collided do not collide again.
                    let pause = std::time::Duration::from_millis(100 + rand::random::<u64>() % 400);
                    tokio::time::sleep(pause).await;
                }
                outcome => return outcome.map(|_| ()),
            }
        }
    }
}

/// How long a starting service waits for a busy ledger to take the genesis.
const START_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
