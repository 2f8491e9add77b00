//! The activity timeline: every movement of a wallet's money, one row each, as the portfolio
//! service lists it and the host exports it.

use serde::{Deserialize, Serialize};

use crate::{Amount, Reference, Token, UsdValue, WalletAddress};

/// What a row of the timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// The sign-up credit.
    Airdrop,
    /// Tokens from another wallet.
    Received,
    /// Tokens to another wallet.
    Sent,
    Swap,
    /// SOL into a new stake account.
    Stake,
    /// A stake account set to stop earning at the end of the epoch (no money moves).
    Unstake,
    /// A stake account's SOL back in the wallet.
    Withdraw,
    /// An epoch's staking reward, paid into a stake account (or to the wallet, once withdrawn).
    Reward,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 8] = [
        ActivityKind::Airdrop,
        ActivityKind::Received,
        ActivityKind::Sent,
        ActivityKind::Swap,
        ActivityKind::Stake,
        ActivityKind::Unstake,
        ActivityKind::Withdraw,
        ActivityKind::Reward,
    ];

    /// The name in URLs, the API and the CSV: "airdrop", "received"...
    pub const fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Airdrop => "airdrop",
            ActivityKind::Received => "received",
            ActivityKind::Sent => "sent",
            ActivityKind::Swap => "swap",
            ActivityKind::Stake => "stake",
            ActivityKind::Unstake => "unstake",
            ActivityKind::Withdraw => "withdraw",
            ActivityKind::Reward => "reward",
        }
    }

    /// For people: "Airdrop", "Received"...
    pub const fn label(self) -> &'static str {
        match self {
            ActivityKind::Airdrop => "Sign-up airdrop",
            ActivityKind::Received => "Received",
            ActivityKind::Sent => "Sent",
            ActivityKind::Swap => "Swap",
            ActivityKind::Stake => "Stake",
            ActivityKind::Unstake => "Unstake",
            ActivityKind::Withdraw => "Withdrawal",
            ActivityKind::Reward => "Staking reward",
        }
    }

    pub fn parse(text: &str) -> Option<ActivityKind> {
        let text = text.trim();
        ActivityKind::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }
}

/// An amount of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenAmount {
    pub token: Token,
    pub amount: Amount,
}

/// One row of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityRow {
    pub reference: Reference,
    pub kind: ActivityKind,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// What left the wallet's spendable balance.
    pub sent: Option<TokenAmount>,
    /// What arrived in the wallet's spendable balance.
    pub received: Option<TokenAmount>,
    /// The fee, already taken from `received` (a swap's fee is paid in the token bought).
    pub fee: Option<TokenAmount>,
    /// SOL into (stake, reward) or out of (withdraw) the wallet's stake accounts, in lamports:
    /// with the spendable balances, the sum of this column is what the wallet has staked.
    pub staked_change: i64,
    /// USD value when it happened: what was sent (or else received, or staked), at the price
    /// of that moment; `None` when no price of that moment is stored.
    pub usd_value: Option<UsdValue>,
    /// The other wallet of a transfer.
    pub counterparty: Option<WalletAddress>,
    /// The stake account of a stake, unstake, withdrawal or reward.
    pub stake_account: Option<String>,
    /// A transfer's memo; a reward's epoch ("epoch 12").
    pub note: Option<String>,
}

impl ActivityRow {
    /// One line for people, as a notice says it: "Received 1.5 SOL from 9xQe…4Fd2".
    pub fn summary(&self) -> String {
        let amount = |part: Option<TokenAmount>| {
            part.map(|part| format!("{} {}", part.amount.format_display(part.token.decimals(), 6), part.token.symbol()))
                .unwrap_or_default()
        };
        let other = self.counterparty.as_ref().map(WalletAddress::short).unwrap_or_default();
        match self.kind {
            ActivityKind::Airdrop => format!("Sign-up airdrop: {}", amount(self.received)),
            ActivityKind::Received => format!("Received {} from {other}", amount(self.received)),
            ActivityKind::Sent => format!("Sent {} to {other}", amount(self.sent)),
            ActivityKind::Swap => format!("Swapped {} for {}", amount(self.sent), amount(self.received)),
            ActivityKind::Stake => format!("Staked {}", amount(self.sent)),
            ActivityKind::Unstake => "Unstaked: the stake stops earning at the end of the epoch".to_owned(),
            ActivityKind::Withdraw => format!("Withdrew {} from staking", amount(self.received)),
            ActivityKind::Reward if self.received.is_some() => format!("Staking reward: {}", amount(self.received)),
            ActivityKind::Reward => {
                let staked = Amount::from_base_units(self.staked_change.unsigned_abs())
                    .map(|amount| TokenAmount { token: Token::Sol, amount });
                format!("Staking reward: {}", amount(staked))
            }
        }
    }
}

/// One page of the timeline, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityPage {
    pub rows: Vec<ActivityRow>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<Reference>,
}

/// Which rows to list. Every field is optional; in URLs they are query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFilter {
    pub kind: Option<ActivityKind>,
    pub token: Option<Token>,
    /// From this day (UTC), inclusive: `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Up to this day (UTC), inclusive: `YYYY-MM-DD`.
    pub to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_as_one_line() {
        let sol = |units| Some(TokenAmount { token: Token::Sol, amount: Amount::from_base_units(units).unwrap() });
        let other = WalletAddress::from_public_key(&[7; 32]);
        let mut row = ActivityRow {
            reference: crate::Reference::new(crate::ReferenceKind::Transfer, 0, 0),
            kind: ActivityKind::Received,
            at_ms: 0,
            sent: None,
            received: sol(1_500_000_000),
            fee: None,
            staked_change: 0,
            usd_value: None,
            counterparty: Some(other.clone()),
            stake_account: None,
            note: None,
        };
        assert_eq!(row.summary(), format!("Received 1.5 SOL from {}", other.short()));
        row.kind = ActivityKind::Reward;
        row.received = None;
        row.staked_change = 1_234;
        assert_eq!(row.summary(), "Staking reward: 0.000001 SOL", "at most six decimals, truncated");
    }

    #[test]
    fn kinds_read_back_from_their_names() {
        for kind in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ActivityKind::parse("Reward "), Some(ActivityKind::Reward));
        assert_eq!(ActivityKind::parse("genesis"), None);
    }
}
