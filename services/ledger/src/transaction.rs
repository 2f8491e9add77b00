//! Ledger transaction requests and the pure rules they must satisfy.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mongodb::bson::Document;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use solstice_types::{Amount, Reference, ReferenceKind, Token, WalletAddress};

use crate::{AccountId, LedgerError};

/// A client-chosen key that makes a money-moving request safe to retry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Keys are 1 to 200 characters of letters, digits and `-_:.`; callers prefix them
    /// with a scope (such as the acting wallet) so that two users' keys never collide.
    pub fn new(key: impl Into<String>) -> Result<IdempotencyKey, LedgerError> {
        let key = key.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_:.".contains(c);
        if key.is_empty() || key.len() > 200 || !key.chars().all(allowed) {
            return Err(LedgerError::Invalid("the idempotency key must be 1-200 letters, digits or -_:.".into()));
        }
        Ok(IdempotencyKey(key))
    }

    /// The key of a request a wallet's client made: `{prefix}:{wallet}:{client_key}`, so that
    /// two users' keys never meet. `client_key` must be one the kit's input checks accepted (8
    /// to 100 letters, digits, `-` or `_`); with a short prefix the whole is always a valid key.
    pub fn scoped(prefix: &str, wallet: &WalletAddress, client_key: &str) -> IdempotencyKey {
        let key = IdempotencyKey(format!("{prefix}:{wallet}:{client_key}"));
        debug_assert!(IdempotencyKey::new(key.0.clone()).is_ok(), "an unchecked client key: {client_key:?}");
        key
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One movement: `amount` of `token` leaves `from` and arrives in `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub from: AccountId,
    pub to: AccountId,
    pub token: Token,
    pub amount: Amount,
}

/// A write to another collection that must happen in the same database transaction as the
/// money movement (a user's account on sign-up, a swap's record, a stake account's state).
#[derive(Debug, Clone)]
pub enum SideWrite {
    /// Inserts `document`; with `reference_field`, that field is set to the transaction's
    /// reference number, which is chosen only as the transaction is applied, so the document
    /// names its record from the moment it exists, whatever happens to the process afterwards.
    Insert { collection: String, document: Document, reference_field: Option<String> },
    /// Must match exactly one document, or the whole transaction is abandoned.
    Update { collection: String, filter: Document, update: Document },
}

/// Everything needed to apply one ledger transaction.
#[derive(Debug, Clone)]
pub struct TransactionRequest {
    pub kind: ReferenceKind,
    pub idempotency_key: IdempotencyKey,
    pub legs: Vec<Leg>,
    pub side_writes: Vec<SideWrite>,
    /// What the request acts on besides its legs (a stake account, a validator, a memo, a
    /// quote), by name: part of the fingerprint, so that the same key sent for another target
    /// or with other details is refused instead of being answered with the first receipt.
    pub terms: BTreeMap<String, String>,
    /// Stored with the record and returned in receipts and history. Not part of the
    /// fingerprint: a retry may carry details computed afresh (a timestamp, a new stake
    /// account's address) and is still the same request; whatever tells two requests apart
    /// goes in `terms`.
    pub details: Option<Document>,
    /// Something this transaction does that no other may ever do again, whatever its key (a
    /// quote is filled once): a second transaction carrying the same value is refused with
    /// [`LedgerError::AlreadyDone`] and moves nothing. Enforced by a unique index on the
    /// records, so it costs no write of its own.
    pub once: Option<String>,
}

/// What a caller gets back: the same for the first request and for any retry of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub reference: Reference,
    pub kind: ReferenceKind,
    pub legs: Vec<Leg>,
    pub created_at: DateTime<Utc>,
    /// The details stored with the first application.
    pub details: Option<Document>,
    /// True when this request had been applied before and nothing moved this time.
    pub replayed: bool,
}

impl TransactionRequest {
    pub fn new(kind: ReferenceKind, idempotency_key: IdempotencyKey, legs: Vec<Leg>) -> TransactionRequest {
        TransactionRequest {
            kind,
            idempotency_key,
            legs,
            side_writes: Vec::new(),
            terms: BTreeMap::new(),
            details: None,
            once: None,
        }
    }

    /// Names something the request acts on besides its legs (see [`TransactionRequest::terms`]).
    pub fn acting_on(mut self, name: &str, value: impl Into<String>) -> TransactionRequest {
        self.terms.insert(name.to_owned(), value.into());
        self
    }

    pub fn with_details(mut self, details: Document) -> TransactionRequest {
        self.details = Some(details);
        self
    }

    /// See [`TransactionRequest::once`]; part of the fingerprint.
    pub fn once(mut self, value: impl Into<String>) -> TransactionRequest {
        self.once = Some(value.into());
        self
    }

    pub fn with_side_write(mut self, write: SideWrite) -> TransactionRequest {
        self.side_writes.push(write);
        self
    }

    /// A digest of what the request moves and acts on, so that reusing its key for anything
    /// else is caught. A request without terms digests as before terms existed, so a retry of a
    /// record made before then is still recognised.
    pub(crate) fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.kind.prefix());
        for leg in &self.legs {
            hasher.update(format!("|{}>{}:{}:{}", leg.from, leg.to, leg.token, leg.amount.base_units()));
        }
        // Lengths first, so that no name or value (a memo may hold any character) can be read
        // as the end of one term and the start of another.
        for (name, value) in &self.terms {
            hasher.update(format!("|{}:{}:{name}={value}", name.len(), value.len()));
        }
        if let Some(once) = &self.once {
            hasher.update(format!("|once:{}:{once}", once.len()));
        }
        solstice_types::hex(&hasher.finalize())
    }
}

/// Checks the request's legs and sums them into the net change of each (account, token).
///
/// Every leg is balanced by construction, so each token's changes sum to zero; this also
/// refuses requests no caller should make: no legs, a zero amount, an account paying itself,
/// issuance outside genesis, or totals past what a balance can hold.
pub fn net_changes(kind: ReferenceKind, legs: &[Leg]) -> Result<BTreeMap<(AccountId, Token), i64>, LedgerError> {
    if legs.is_empty() {
        return Err(LedgerError::Invalid("a transaction moves something".into()));
    }
    let mut net: BTreeMap<(AccountId, Token), i128> = BTreeMap::new();
    for leg in legs {
        if leg.amount.is_zero() {
            return Err(LedgerError::Invalid("amounts must be greater than zero".into()));
        }
        if leg.from == leg.to {
            return Err(LedgerError::Invalid("an account cannot pay itself".into()));
        }
        if (leg.from.may_go_negative() || leg.to.may_go_negative()) && kind != ReferenceKind::Genesis {
            return Err(LedgerError::Invalid("only genesis touches the issuance account".into()));
        }
        let amount = i128::from(leg.amount.as_i64());
        *net.entry((leg.from.clone(), leg.token)).or_default() -= amount;
        *net.entry((leg.to.clone(), leg.token)).or_default() += amount;
    }
    net.into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|(key, delta)| {
            i64::try_from(delta)
                .map(|delta| (key, delta))
                .map_err(|_| LedgerError::Invalid("the amounts add up to more than a balance can hold".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use solstice_types::WalletAddress;

    use super::*;
    use crate::SystemAccount;

    fn wallet(n: u8) -> AccountId {
        AccountId::wallet(&WalletAddress::from_public_key(&[n; 32]))
    }

    fn leg(from: AccountId, to: AccountId, token: Token, units: u64) -> Leg {
        Leg { from, to, token, amount: Amount::from_base_units(units).unwrap() }
    }

    #[test]
    fn each_tokens_net_changes_sum_to_zero() {
        let fees = AccountId::System(SystemAccount::Fees);
        let treasury = AccountId::System(SystemAccount::Treasury);
        let legs = [
            leg(wallet(1), treasury.clone(), Token::Sol, 1_000),
            leg(treasury.clone(), wallet(1), Token::Usdc, 150),
            leg(wallet(1), fees.clone(), Token::Sol, 3),
            leg(wallet(2), wallet(1), Token::Sol, 500),
        ];
        let net = net_changes(ReferenceKind::Swap, &legs).unwrap();
        for token in [Token::Sol, Token::Usdc] {
            let sum: i64 = net.iter().filter(|((_, t), _)| *t == token).map(|(_, d)| d).sum();
            assert_eq!(sum, 0, "{token} is balanced");
        }
        assert_eq!(net[&(wallet(1), Token::Sol)], -1_000 - 3 + 500);
        assert_eq!(net[&(treasury, Token::Usdc)], -150);
        assert_eq!(net[&(fees, Token::Sol)], 3);
    }

    #[test]
    fn legs_that_cancel_out_leave_no_entry() {
        let legs = [leg(wallet(1), wallet(2), Token::Sol, 5), leg(wallet(2), wallet(1), Token::Sol, 5)];
        assert!(net_changes(ReferenceKind::Transfer, &legs).unwrap().is_empty());
    }

    #[test]
    fn refuses_requests_that_make_no_sense() {
        let issuance = AccountId::System(SystemAccount::Issuance);
        let cases: [&[Leg]; 4] = [
            &[],
            &[leg(wallet(1), wallet(2), Token::Sol, 0)],
            &[leg(wallet(1), wallet(1), Token::Sol, 1)],
            &[leg(issuance, wallet(1), Token::Sol, 1)],
        ];
        for legs in cases {
            assert!(matches!(net_changes(ReferenceKind::Transfer, legs), Err(LedgerError::Invalid(_))), "{legs:?}");
        }
    }

    #[test]
    fn totals_past_a_balance_are_refused_not_wrapped() {
        let max = Amount::MAX.base_units();
        let legs = [leg(wallet(1), wallet(2), Token::Sol, max), leg(wallet(3), wallet(2), Token::Sol, max)];
        assert!(matches!(net_changes(ReferenceKind::Transfer, &legs), Err(LedgerError::Invalid(_))));
    }

    #[test]
    fn the_fingerprint_changes_with_what_moves() {
        let key = IdempotencyKey::new("k").unwrap();
        let a = TransactionRequest::new(
            ReferenceKind::Transfer,
            key.clone(),
            vec![leg(wallet(1), wallet(2), Token::Sol, 5)],
        );
        let b = TransactionRequest::new(ReferenceKind::Transfer, key, vec![leg(wallet(1), wallet(2), Token::Sol, 6)]);
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn the_fingerprint_covers_what_the_request_acts_on() {
        let request = || {
            TransactionRequest::new(
                ReferenceKind::Stake,
                IdempotencyKey::new("k").unwrap(),
                vec![leg(wallet(1), wallet(2), Token::Sol, 5)],
            )
        };
        let on = |name: &str, value: &str| request().acting_on(name, value).fingerprint();
        assert_eq!(on("stake_account", "A"), on("stake_account", "A"));
        assert_ne!(on("stake_account", "A"), on("stake_account", "B"));
        assert_ne!(on("stake_account", "A"), request().fingerprint());
        assert_ne!(on("memo", "a"), on("memo", "b"));
        // A value cannot pass for a name and a value.
        assert_ne!(
            request().acting_on("a", "b").acting_on("c", "d").fingerprint(),
            request().acting_on("a", "b|1:1:c=d").fingerprint()
        );
        // The details (which may be computed afresh on a retry) are not part of it.
        assert_eq!(request().with_details(mongodb::bson::doc! { "at": 1 }).fingerprint(), request().fingerprint());
    }

    #[test]
    fn idempotency_keys_are_bounded_and_plain() {
        assert!(IdempotencyKey::new("wallet:abc:3f2a-11").is_ok());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("has space").is_err());
        assert!(IdempotencyKey::new("x".repeat(201)).is_err());
    }

    #[test]
    fn a_scoped_key_names_its_kind_and_wallet_so_two_users_keys_never_meet() {
        let (alice, bob) = (WalletAddress::from_public_key(&[1; 32]), WalletAddress::from_public_key(&[2; 32]));
        let key = IdempotencyKey::scoped("swp", &alice, "3f2a9c1e-7d4b-4e0a-9a51-0c2d6b7e8f90");
        assert_eq!(key.as_str(), format!("swp:{alice}:3f2a9c1e-7d4b-4e0a-9a51-0c2d6b7e8f90"));
        assert!(IdempotencyKey::new(key.as_str()).is_ok());
        let longest = "k".repeat(100);
        let scoped = IdempotencyKey::scoped("wdr", &alice, &longest);
        assert!(IdempotencyKey::new(scoped.as_str()).is_ok(), "the longest client key still makes a valid key");
        assert_ne!(
            IdempotencyKey::scoped("trf", &bob, "same-key-0001"),
            IdempotencyKey::scoped("trf", &alice, "same-key-0001")
        );
    }
}
