//! Split system accounts: the treasury (and the fee account beside it) as shards, so that
//! concurrent swaps write different documents instead of queueing on one; reading a split
//! account across its shards; and rebalancing a token's inventory over the shards, exactly once
//! per pass.

use futures::TryStreamExt;
use mongodb::bson::doc;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use solstice_types::{Amount, ReferenceKind, Token};

use crate::{
    AccountId, IdempotencyKey, Ledger, LedgerError, Leg, SideWrite, SystemAccount, TransactionRequest,
    account::MAX_SHARDS,
    model::{BalanceDoc, balance_id},
};

/// Collection of [`PassDoc`]: the number of the last rebalancing pass of each split account and
/// token.
pub const REBALANCES: &str = "ledger_rebalances";

/// How many passes of one split account's token have been applied. A pass is computed from this
/// number and the balances read after it, and applied only if the number is still the same (the
/// transaction moves it on): two rebalancers that both read it, one of them past its lease
/// without knowing, cannot both apply a plan; and the pass's idempotency key is its number, so a
/// pass whose commit was uncertain is settled, not applied again.
#[derive(Debug, Serialize, Deserialize)]
struct PassDoc {
    #[serde(rename = "_id")]
    id: String,
    pass: i64,
}

/// One move of a rebalancing plan: `amount` base units from shard `from` to shard `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardMove {
    pub from: u8,
    pub to: u8,
    pub amount: i64,
}

/// The moves that spread `balances` (shard, amount) evenly over shards `0..active`, emptying the
/// shards past them (left over when the number of shards was lowered), or none when it is not
/// needed: every active shard holds at least half of an even share and no other shard holds
/// anything. Small drift is left alone, so swaps are not disturbed for nothing.
pub fn rebalancing_plan(balances: &[(u8, i64)], active: u8) -> Vec<ShardMove> {
    let active = active.clamp(1, MAX_SHARDS);
    let total: i64 = balances.iter().map(|(_, amount)| (*amount).max(0)).sum();
    let held = |shard: u8| balances.iter().filter(|(s, _)| *s == shard).map(|(_, a)| (*a).max(0)).sum::<i64>();
    let share = total / i64::from(active);
    let stranded = balances.iter().any(|(shard, amount)| *shard >= active && *amount > 0);
    let starved = (0..active).any(|shard| held(shard) < share / 2);
    if total == 0 || !(stranded || starved) {
        return Vec::new();
    }
    // Targets: an even share each, the remainder to shard 0; nothing past the active ones.
    let target = |shard: u8| match shard {
        0 => share + total % i64::from(active),
        s if s < active => share,
        _ => 0,
    };
    let mut shards: Vec<u8> = balances.iter().map(|(shard, _)| *shard).chain(0..active).collect();
    shards.sort_unstable();
    shards.dedup();
    let mut surplus: Vec<(u8, i64)> =
        shards.iter().map(|&s| (s, held(s) - target(s))).filter(|(_, excess)| *excess > 0).collect();
    let mut deficit: Vec<(u8, i64)> =
        shards.iter().map(|&s| (s, target(s) - held(s))).filter(|(_, short)| *short > 0).collect();
    let mut moves = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < surplus.len() && j < deficit.len() {
        let amount = surplus[i].1.min(deficit[j].1);
        moves.push(ShardMove { from: surplus[i].0, to: deficit[j].0, amount });
        surplus[i].1 -= amount;
        deficit[j].1 -= amount;
        if surplus[i].1 == 0 {
            i += 1;
        }
        if deficit[j].1 == 0 {
            j += 1;
        }
    }
    moves
}

impl Ledger {
    /// The shards of `account` (split in `shards`) for a transaction to take from, in the order
    /// to try them: in random order, so that concurrent transactions spread over the shards,
    /// and the ones no request of this process is debiting right now first (a transaction that
    /// takes a busy shard waits for the one before it: a shard serves one at a time).
    pub fn shard_order(&self, account: SystemAccount, shards: u8) -> Vec<u8> {
        let mut order: Vec<u8> = (0..shards.clamp(1, MAX_SHARDS)).collect();
        order.shuffle(&mut rand::thread_rng());
        // A stable sort: the idle ones first, each group still in random order.
        order.sort_by_key(|&shard| !self.is_idle(&AccountId::shard(account, shard)));
        order
    }

    /// The balance of `token` in each shard of `account` that ever held it, by shard number.
    pub async fn shard_balances(&self, account: SystemAccount, token: Token) -> Result<Vec<(u8, i64)>, LedgerError> {
        if !account.is_sharded() {
            return Ok(vec![(0, self.balance(&AccountId::System(account), token).await?.as_i64())]);
        }
        let ids: Vec<String> =
            (0..MAX_SHARDS).map(|shard| balance_id(&AccountId::shard(account, shard).to_string(), token)).collect();
        let found: Vec<BalanceDoc> = self.balances.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await?;
        let mut balances = Vec::with_capacity(found.len());
        for balance in found {
            let shard = match balance.account.parse::<AccountId>().ok().and_then(|id| id.system()) {
                Some((of, shard)) if of == account => shard,
                _ => return Err(LedgerError::Corrupt(balance.id)),
            };
            balances.push((shard, balance.amount));
        }
        balances.sort_unstable();
        Ok(balances)
    }

    /// What a system account holds of `token`, over all its shards.
    pub async fn system_balance(&self, account: SystemAccount, token: Token) -> Result<i64, LedgerError> {
        Ok(self.shard_balances(account, token).await?.iter().map(|(_, amount)| amount).sum())
    }

    /// One rebalancing pass of `account`'s `token` over `active` shards: the plan of
    /// [`rebalancing_plan`], applied as one ledger transaction, exactly once. Returns how many
    /// moves were applied: 0 when none was needed, or when the balances changed under the plan
    /// (a swap took from a shard meanwhile) or another pass went first; the next pass looks again.
    pub async fn rebalance(&self, account: SystemAccount, token: Token, active: u8) -> Result<usize, LedgerError> {
        // A look first, which is all most passes do: nothing is written unless a plan is needed.
        if rebalancing_plan(&self.shard_balances(account, token).await?, active).is_empty() {
            return Ok(0);
        }
        let id = balance_id(&AccountId::System(account).to_string(), token);
        let passes = self.database.collection::<PassDoc>(REBALANCES);
        let pass = match passes.find_one(doc! { "_id": &id }).await? {
            Some(found) => found.pass,
            None => match passes.insert_one(PassDoc { id: id.clone(), pass: 0 }).await {
                Ok(_) => 0,
                // Two first passes at once: the other one created the record; the next pass reads it.
                Err(error) if crate::is_duplicate_key(&error) => return Ok(0),
                Err(error) => return Err(error.into()),
            },
        };
        // The plan applied is made from balances read after the pass number.
        let plan = rebalancing_plan(&self.shard_balances(account, token).await?, active);
        if plan.is_empty() {
            return Ok(0);
        }
        let legs = plan
            .iter()
            .map(|step| {
                Ok(Leg {
                    from: AccountId::shard(account, step.from),
                    to: AccountId::shard(account, step.to),
                    token,
                    amount: Amount::from_base_units(step.amount as u64)
                        .ok_or_else(|| LedgerError::Corrupt(id.clone()))?,
                })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let key = IdempotencyKey::new(format!("rebalance:v1:{id}:{}", pass + 1).replace('/', ":"))?;
        let request = TransactionRequest::new(ReferenceKind::Rebalance, key, legs).with_side_write(SideWrite::Update {
            collection: REBALANCES.to_owned(),
            filter: doc! { "_id": &id, "pass": pass },
            update: doc! { "$set": { "pass": pass + 1 } },
        });
        match self.apply(request).await {
            Ok(receipt) if receipt.replayed => Ok(0),
            Ok(_) => Ok(plan.len()),
            Err(LedgerError::Precondition(_) | LedgerError::InsufficientFunds { .. }) => Ok(0),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(balances: &[(u8, i64)], moves: &[ShardMove]) -> Vec<(u8, i64)> {
        let mut out: std::collections::BTreeMap<u8, i64> = balances.iter().copied().collect();
        for step in moves {
            *out.entry(step.from).or_default() -= step.amount;
            *out.entry(step.to).or_default() += step.amount;
        }
        out.into_iter().collect()
    }

    #[test]
    fn a_treasury_in_one_shard_is_spread_evenly_and_nothing_is_created() {
        let balances = [(0, 8_000_003)];
        let moves = rebalancing_plan(&balances, 8);
        let spread = after(&balances, &moves);
        assert_eq!(spread.len(), 8);
        assert_eq!(spread[0], (0, 1_000_003));
        assert!(spread[1..].iter().all(|(_, amount)| *amount == 1_000_000));
        assert_eq!(spread.iter().map(|(_, a)| a).sum::<i64>(), 8_000_003);
        assert!(moves.iter().all(|m| m.amount > 0 && m.from != m.to));
    }

    #[test]
    fn small_drift_is_left_alone_and_a_starved_shard_is_refilled() {
        let drifted = [(0, 900), (1, 1_100), (2, 600), (3, 1_400)];
        assert!(rebalancing_plan(&drifted, 4).is_empty());
        let starved = [(0, 1_500), (1, 1_500), (2, 400), (3, 600)];
        let moves = rebalancing_plan(&starved, 4);
        assert_eq!(after(&starved, &moves), [(0, 1_000), (1, 1_000), (2, 1_000), (3, 1_000)]);
    }

    #[test]
    fn shards_past_the_active_ones_are_emptied_into_them() {
        let balances = [(0, 100), (1, 100), (2, 50), (3, 50)];
        let moves = rebalancing_plan(&balances, 2);
        assert_eq!(after(&balances, &moves), [(0, 150), (1, 150), (2, 0), (3, 0)]);
    }

    /// A swap takes first the shards no request of its process is debiting: one waiting for a
    /// busy shard would wait for the swap before it.
    #[tokio::test]
    async fn the_shards_being_debited_in_this_process_come_last() {
        // No database is reached: the order is made in memory.
        let client = mongodb::Client::with_uri_str("mongodb://127.0.0.1:9").await.unwrap();
        let ledger = Ledger::new(client.clone(), &client.database("unused"));
        let busy = AccountId::shard(SystemAccount::Treasury, 3);
        let _debiting = ledger.stripes[crate::apply::stripe_of(&busy.to_string())].lock().await;
        for _ in 0..20 {
            let order = ledger.shard_order(SystemAccount::Treasury, 8);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..8).collect::<Vec<u8>>(), "every shard, once");
            let idle: Vec<bool> =
                order.iter().map(|&shard| ledger.is_idle(&AccountId::shard(SystemAccount::Treasury, shard))).collect();
            assert!(idle.windows(2).all(|pair| pair[0] >= pair[1]), "idle shards first: {order:?} {idle:?}");
            assert!(!idle.last().unwrap(), "the busy shard is among the last");
        }
    }

    #[test]
    fn an_empty_or_single_shard_account_needs_nothing() {
        assert!(rebalancing_plan(&[], 8).is_empty());
        assert!(rebalancing_plan(&[(0, 0), (1, 0)], 8).is_empty());
        assert!(rebalancing_plan(&[(0, 5)], 1).is_empty());
    }
}
