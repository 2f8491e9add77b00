//! Quotes are not stored: a quote's id carries its terms, sealed for the wallet it was made for
//! with a key every replica of the exchange shares. Executing reads the terms back from the id,
//! on any replica, and a quote fills once because its fill's ledger record carries the id under
//! a unique index. So a quote costs the exchange no write, and a wallet can ask for as many as
//! it likes.
//!
//! The seal keeps the terms as the exchange made them: a changed id, or one used by another
//! wallet, is refused as unknown. (A forged quote would gain nothing anyway: a fill is priced
//! again at the live price, and a quote's terms only bound it in the user's favour; the seal
//! keeps receipts truthful.)

use hmac::{Hmac, KeyInit, Mac};
use mongodb::{
    Database,
    bson::{Document, doc},
    options::ReturnDocument,
};
use sha2::Sha256;
use solstice_ledger::is_duplicate_key;
use solstice_types::{Amount, Token, UsdPrice, WalletAddress, hex, swap::SwapSide, unhex};

/// Collection of the exchange's keys: one document, `quotes`, holding the sealing key.
pub const SWAP_KEYS: &str = "swap_keys";
const QUOTE_KEY_ID: &str = "quotes";
/// What every quote id starts with.
const PREFIX: &str = "q_";
/// The layout of the sealed terms; a change of layout is a new version.
const VERSION: u8 = 1;
const TERMS_LEN: usize = 72;
/// Bytes of the seal kept (of HMAC-SHA256's 32): 128 bits.
const SEAL_LEN: usize = 16;
/// No id is longer: base58 of the terms and the seal, with the prefix.
pub const MAX_ID_LEN: usize = 160;

/// A quote's firm terms: what executing it needs, and what its swap's receipt shows as quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terms {
    pub from: Token,
    pub to: Token,
    pub side: SwapSide,
    pub slippage_bps: u16,
    pub fee_bps: u16,
    pub amount_in: Amount,
    pub amount_out: Amount,
    pub min_received: Amount,
    pub max_sold: Amount,
    pub price_in: UsdPrice,
    pub price_out: UsdPrice,
    pub expires_at_ms: i64,
    /// Random: two quotes with the same terms in the same millisecond are still two quotes.
    pub nonce: u64,
}

/// The key quotes are sealed with, shared by every replica through the database.
#[derive(Clone)]
pub(crate) struct QuoteKey(Hmac<Sha256>);

impl QuoteKey {
    /// The exchange's key: made by the first replica ever to start, read by every other one.
    pub async fn load(database: &Database) -> mongodb::error::Result<QuoteKey> {
        let keys = database.collection::<Document>(SWAP_KEYS);
        let fresh = hex(&rand::random::<[u8; 32]>());
        let stored = loop {
            let found = keys
                .find_one_and_update(doc! { "_id": QUOTE_KEY_ID }, doc! { "$setOnInsert": { "key": &fresh } })
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match found {
                Ok(Some(stored)) => break stored,
                // Another replica inserted it at the same moment: read theirs.
                Err(error) if is_duplicate_key(&error) => continue,
                Ok(None) => continue,
                Err(error) => return Err(error),
            }
        };
        let key =
            stored.get_str("key").ok().and_then(unhex).filter(|key| key.len() == 32).ok_or_else(|| {
                mongodb::error::Error::custom("the exchange's quote key is not 64 hex digits".to_owned())
            })?;
        Ok(QuoteKey::from_bytes(&key))
    }

    pub fn from_bytes(key: &[u8]) -> QuoteKey {
        QuoteKey(Hmac::new_from_slice(key).expect("HMAC takes a key of any length"))
    }

    fn mac(&self, wallet: &WalletAddress, terms: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(wallet.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(terms);
        mac
    }

    /// The id of a quote with `terms` for `wallet`.
    pub fn seal(&self, wallet: &WalletAddress, terms: &Terms) -> String {
        let mut sealed = encode(terms).to_vec();
        let seal = self.mac(wallet, &sealed).finalize().into_bytes();
        sealed.extend_from_slice(&seal[..SEAL_LEN]);
        format!("{PREFIX}{}", bs58::encode(sealed).into_string())
    }

    /// The terms of quote `id` made for `wallet`; none when it is not one (malformed, changed,
    /// or made for another wallet).
    pub fn open(&self, wallet: &WalletAddress, id: &str) -> Option<Terms> {
        if id.len() > MAX_ID_LEN {
            return None;
        }
        let sealed = bs58::decode(id.strip_prefix(PREFIX)?).into_vec().ok()?;
        if sealed.len() != TERMS_LEN + SEAL_LEN {
            return None;
        }
        let (terms, seal) = sealed.split_at(TERMS_LEN);
        self.mac(wallet, terms).verify_truncated_left(seal).ok()?;
        decode(terms.try_into().ok()?)
    }
}

fn token_index(token: Token) -> u8 {
    Token::ALL.iter().position(|t| *t == token).expect("every token is listed") as u8
}

fn encode(terms: &Terms) -> [u8; TERMS_LEN] {
    let mut out = [0u8; TERMS_LEN];
    out[0] = VERSION;
    out[1] = token_index(terms.from);
    out[2] = token_index(terms.to);
    out[3] = match terms.side {
        SwapSide::ExactIn => 0,
        SwapSide::ExactOut => 1,
    };
    out[4..6].copy_from_slice(&terms.slippage_bps.to_be_bytes());
    out[6..8].copy_from_slice(&terms.fee_bps.to_be_bytes());
    let numbers = [
        terms.amount_in.base_units(),
        terms.amount_out.base_units(),
        terms.min_received.base_units(),
        terms.max_sold.base_units(),
        terms.price_in.picodollars(),
        terms.price_out.picodollars(),
        terms.expires_at_ms as u64,
        terms.nonce,
    ];
    for (i, number) in numbers.iter().enumerate() {
        out[8 + 8 * i..16 + 8 * i].copy_from_slice(&number.to_be_bytes());
    }
    out
}

fn decode(bytes: &[u8; TERMS_LEN]) -> Option<Terms> {
    if bytes[0] != VERSION {
        return None;
    }
    let token = |index: u8| Token::ALL.get(usize::from(index)).copied();
    let side = match bytes[3] {
        0 => SwapSide::ExactIn,
        1 => SwapSide::ExactOut,
        _ => return None,
    };
    let number = |i: usize| u64::from_be_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("eight bytes"));
    let amount = |i| Amount::from_base_units(number(i));
    Some(Terms {
        from: token(bytes[1])?,
        to: token(bytes[2])?,
        side,
        slippage_bps: u16::from_be_bytes([bytes[4], bytes[5]]),
        fee_bps: u16::from_be_bytes([bytes[6], bytes[7]]),
        amount_in: amount(0)?,
        amount_out: amount(1)?,
        min_received: amount(2)?,
        max_sold: amount(3)?,
        price_in: UsdPrice::from_picodollars(number(4)),
        price_out: UsdPrice::from_picodollars(number(5)),
        expires_at_ms: number(6) as i64,
        nonce: number(7),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            from: Token::Sol,
            to: Token::Usdc,
            side: SwapSide::ExactIn,
            slippage_bps: 50,
            fee_bps: 30,
            amount_in: Amount::from_base_units(1_000_000_000).unwrap(),
            amount_out: Amount::from_base_units(149_550_000).unwrap(),
            min_received: Amount::from_base_units(148_802_250).unwrap(),
            max_sold: Amount::from_base_units(1_000_000_000).unwrap(),
            price_in: UsdPrice::from_picodollars(150_000_000_000_000),
            price_out: UsdPrice::from_picodollars(1_000_000_000_000),
            expires_at_ms: 1_764_000_000_000,
            nonce: 42,
        }
    }

    fn wallet(seed: u8) -> WalletAddress {
        WalletAddress::from_public_key(&[seed; 32])
    }

    #[test]
    fn a_sealed_quote_opens_to_its_terms_for_its_wallet_only() {
        let key = QuoteKey::from_bytes(&[7; 32]);
        let id = key.seal(&wallet(1), &terms());
        assert!(id.starts_with(PREFIX) && id.len() <= MAX_ID_LEN, "{id} ({} characters)", id.len());
        assert_eq!(key.open(&wallet(1), &id), Some(terms()));
        assert_eq!(key.open(&wallet(2), &id), None, "another wallet's quote");
        assert_eq!(QuoteKey::from_bytes(&[8; 32]).open(&wallet(1), &id), None, "another exchange's quote");
    }

    #[test]
    fn a_changed_or_malformed_id_opens_to_nothing() {
        let key = QuoteKey::from_bytes(&[7; 32]);
        let id = key.seal(&wallet(1), &terms());
        // Every single character changed, to every other base58 digit.
        let digits = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        for at in PREFIX.len()..id.len() {
            for digit in digits.chars().filter(|d| !id[at..].starts_with(*d)) {
                let changed = format!("{}{digit}{}", &id[..at], &id[at + 1..]);
                assert_eq!(key.open(&wallet(1), &changed), None, "{changed}");
            }
        }
        for bad in ["", "q_", "q_0OIl", &id[..id.len() - 1], &format!("{id}1"), &id[PREFIX.len()..], &"q_1".repeat(80)]
        {
            assert_eq!(key.open(&wallet(1), bad), None, "{bad:?}");
        }
    }

    #[test]
    fn two_quotes_with_the_same_terms_have_different_ids() {
        let key = QuoteKey::from_bytes(&[7; 32]);
        let other = Terms { nonce: 43, ..terms() };
        assert_ne!(key.seal(&wallet(1), &terms()), key.seal(&wallet(1), &other));
    }
}
