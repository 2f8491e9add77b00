//! One stake opened at a time per wallet, across replicas: the limit on open stake accounts is
//! checked and the account created while the wallet's lock is held, so that a burst of stakes
//! from one wallet cannot pass the limit together.
//!
//! A lock is a document named by the wallet, holding a random token and a time after which it
//! is stale (its holder died): a stale lock is taken over, and only the holder's token
//! releases it.

use std::time::Duration;

use mongodb::{
    Collection,
    bson::{DateTime, Document, doc},
};
use solstice_ledger::is_duplicate_key;
use solstice_types::WalletAddress;

use crate::error::StakeError;

/// Collection of the wallets' locks.
pub const STAKE_LOCKS: &str = "stake_wallet_locks";
/// A lock not released within this is taken to be its dead holder's.
const STALE_AFTER: Duration = Duration::from_secs(10);
/// How long a stake waits for another of the same wallet before giving up.
const WAIT: Duration = Duration::from_secs(3);

/// A held lock. Released with [`WalletLock::release`]; if its holder dies, it goes stale.
pub(crate) struct WalletLock {
    locks: Collection<Document>,
    wallet: String,
    token: String,
}

impl WalletLock {
    /// Takes `wallet`'s lock, waiting up to [`WAIT`] for the holder to release it.
    pub(crate) async fn acquire(
        locks: &Collection<Document>,
        wallet: &WalletAddress,
    ) -> Result<WalletLock, StakeError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            let now = DateTime::now();
            let stale_at = DateTime::from_millis(now.timestamp_millis() + STALE_AFTER.as_millis() as i64);
            let lock = doc! { "_id": wallet.as_str(), "token": &token, "stale_at": stale_at };
            let taken = match locks.insert_one(&lock).await {
                Ok(_) => true,
                Err(error) if is_duplicate_key(&error) => locks
                    .find_one_and_update(
                        doc! { "_id": wallet.as_str(), "stale_at": { "$lte": now } },
                        doc! { "$set": { "token": &token, "stale_at": stale_at } },
                    )
                    .await?
                    .is_some(),
                Err(error) => return Err(error.into()),
            };
            if taken {
                return Ok(WalletLock { locks: locks.clone(), wallet: wallet.to_string(), token });
            }
            if started.elapsed() >= WAIT {
                return Err(StakeError::Busy);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Gives the lock back (if a stale takeover did not take it already).
    pub(crate) async fn release(self) -> Result<(), StakeError> {
        self.locks.delete_one(doc! { "_id": &self.wallet, "token": &self.token }).await?;
        Ok(())
    }
}
