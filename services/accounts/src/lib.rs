//! User accounts as stored: one document per wallet in [`USERS`], written by the host at sign-up
//! (in the same ledger transaction as the initial SOL) and read by the transfer service, which
//! only asks whether an address is a wallet here. One type for both, so the two never disagree
//! on the shape.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use mongodb::{
    Collection,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};
use solstice_types::WalletAddress;

/// Collection of [`UserDoc`].
pub const USERS: &str = "users";

/// A user as stored. `_id` is the wallet address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub address: String,
    /// Argon2id, PHC string format (algorithm, parameters and salt included).
    pub password_hash: String,
    pub created_at: DateTime,
}

impl UserDoc {
    /// A new user of `address` whose password hashes to `password_hash`, created now.
    pub fn new(address: &WalletAddress, password_hash: String) -> UserDoc {
        UserDoc { address: address.to_string(), password_hash, created_at: DateTime::now() }
    }
}

/// Whether `address` is a Solstice wallet. Reads only the key, never the password hash.
pub async fn is_user(users: &Collection<UserDoc>, address: &WalletAddress) -> mongodb::error::Result<bool> {
    let keys = users.clone_with_type::<mongodb::bson::Document>();
    let found = keys.find_one(doc! { "_id": address.as_str() }).projection(doc! { "_id": 1 }).await?;
    Ok(found.is_some())
}

/// Whether addresses are Solstice wallets, remembering the ones that are: a wallet, once
/// created, is never deleted (its ledger records are kept for good), so a "yes" stays true and
/// a sender paying the same people again asks the database once per process. A "no" is never
/// remembered: the address may sign up a moment later.
#[derive(Debug, Clone)]
pub struct KnownWallets {
    users: Collection<UserDoc>,
    known: Arc<Mutex<HashSet<WalletAddress>>>,
}

impl KnownWallets {
    /// At most this many addresses are remembered (about 6 MB); past it, the memory starts over.
    pub const CAPACITY: usize = 100_000;

    pub fn new(users: Collection<UserDoc>) -> KnownWallets {
        KnownWallets { users, known: Arc::default() }
    }

    /// Whether `address` is a Solstice wallet.
    pub async fn contains(&self, address: &WalletAddress) -> mongodb::error::Result<bool> {
        if self.known.lock().expect("known wallets").contains(address) {
            return Ok(true);
        }
        let found = is_user(&self.users, address).await?;
        if found {
            let mut known = self.known.lock().expect("known wallets");
            if known.len() >= Self::CAPACITY {
                known.clear();
            }
            known.insert(address.clone());
        }
        Ok(found)
    }
}
