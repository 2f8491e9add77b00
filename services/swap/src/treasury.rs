//! The exchange's treasury, split into shards so that swaps do not queue on one document.
//!
//! Every swap writes the treasury's balances (and the fee account's). Kept in one account, every
//! swap would wait for the one before it, and a replica killed mid-swap would hold that one
//! document, and so every swap, until the database dropped its transaction. So the treasury, and
//! the fee account beside it, are split into shards (`SWAP_TREASURY_SHARDS`, 8 by default): a
//! swap fills from a shard picked at random, and falls back to another when its shard is short.
//! One replica at a time, the holder of the rebalancer's lease, keeps the shards' inventory
//! even (see [`solstice_ledger::rebalancing_plan`]); each pass is one ledger transaction,
//! applied exactly once.

use std::time::Duration;

use solstice_kit::{error::error_chain, lease::Lease, lifecycle::Lifecycle};
use solstice_ledger::{AccountId, Ledger, LedgerError, SystemAccount};
use solstice_types::Token;

/// The swap service's leases: one document, the rebalancer's.
pub const SWAP_LEASES: &str = "swap_leases";
/// The treasury rebalancer's lease in [`SWAP_LEASES`].
pub const REBALANCER_LEASE: &str = "treasury_rebalancer";

/// Whether a swap's failure is its treasury shard being short (not the wallet).
pub(crate) fn treasury_short(error: &LedgerError) -> bool {
    matches!(
        error,
        LedgerError::InsufficientFunds { account, .. }
            if account.system().is_some_and(|(of, _)| of == SystemAccount::Treasury)
    )
}

/// The shards, among `order` (past the first, which was tried), that hold at least `needed`
/// base units of `token`, in `order`'s order.
pub(crate) async fn shards_holding(
    ledger: &Ledger,
    token: Token,
    needed: i64,
    order: &[u8],
) -> Result<Vec<u8>, LedgerError> {
    let balances = ledger.shard_balances(SystemAccount::Treasury, token).await?;
    let holds = |shard: u8| balances.iter().any(|(s, amount)| *s == shard && *amount >= needed);
    Ok(order.iter().skip(1).copied().filter(|&shard| holds(shard)).collect())
}

/// The treasury's shard `shard`, and the fee account's shard beside it.
pub(crate) fn accounts(shard: u8) -> (AccountId, AccountId) {
    (AccountId::shard(SystemAccount::Treasury, shard), AccountId::shard(SystemAccount::Fees, shard))
}

/// Keeps the treasury's shards even, every `every`, while this replica holds the rebalancer's
/// lease, until the service drains. A pass that fails is tried again at the next one; a pass
/// whose outcome was lost is settled by its key, so inventory never moves twice.
pub(crate) async fn rebalance(ledger: Ledger, shards: u8, every: Duration, mut lease: Lease, lifecycle: Lifecycle) {
    let draining = lifecycle.draining();
    tokio::pin!(draining);
    loop {
        match lease.step().await {
            Ok(Some(_)) => {
                for token in Token::ALL {
                    if !lease.is_valid() {
                        break;
                    }
                    match ledger.rebalance(SystemAccount::Treasury, token, shards).await {
                        Ok(0) => {}
                        Ok(moves) => tracing::info!(%token, moves, "treasury shards rebalanced"),
                        Err(error) => {
                            tracing::warn!(%token, error = %error_chain(&error), "rebalancing the treasury failed; will retry")
                        }
                    }
                }
            }
            // Another replica rebalances.
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "the rebalancer's lease cannot be reached; will retry")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = &mut draining => break,
        }
    }
    lease.release().await;
}
