//! Proving that nothing was created or lost.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::bson::doc;
use solstice_types::Token;

use crate::{AccountId, Ledger, LedgerError, SystemAccount};

/// Whether a token's money is all accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAudit {
    pub token: Token,
    /// Tokens issued: minus the issuance account's balance.
    pub supply: i64,
    /// Sum of every other account's balance.
    pub held: i64,
    /// The lowest balance of any account but issuance (0 when none is below zero).
    pub lowest_balance: i64,
}

impl TokenAudit {
    /// Holds when nothing was created or lost and no balance is negative.
    pub fn is_sound(&self) -> bool {
        self.supply == self.held && self.lowest_balance >= 0
    }
}

impl Ledger {
    /// Proves, token by token, that the balances add up to the issued supply and that no
    /// balance is negative.
    pub async fn audit(&self) -> Result<Vec<TokenAudit>, LedgerError> {
        let issuance = AccountId::System(SystemAccount::Issuance).to_string();
        let mut audits: BTreeMap<Token, TokenAudit> = Token::ALL
            .into_iter()
            .map(|token| (token, TokenAudit { token, supply: 0, held: 0, lowest_balance: 0 }))
            .collect();
        let mut cursor = self.balances.find(doc! {}).await?;
        while let Some(balance) = cursor.try_next().await? {
            let audit = audits.get_mut(&balance.token).expect("every token is audited");
            if balance.account == issuance {
                audit.supply -= balance.amount;
            } else {
                audit.held += balance.amount;
                audit.lowest_balance = audit.lowest_balance.min(balance.amount);
            }
        }
        Ok(audits.into_values().collect())
    }
}
