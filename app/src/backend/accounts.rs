//! Sign-up and log-in.

use std::net::IpAddr;

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use mongodb::bson::{self, doc};
use rand::Rng;
use solstice_accounts::{USERS, UserDoc};
use solstice_ledger::{AccountId, IdempotencyKey, Leg, SideWrite, SystemAccount, TransactionRequest};
use solstice_types::{Amount, ApiError, ErrorCode, ReferenceKind, Token, WalletAddress};

use super::{HostState, error::HostError};
use crate::model::{Me, SignedUp};

/// Shorter passwords are refused. Length is what makes a password strong; no composition rules.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer passwords are refused, which bounds the work of hashing one.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password and its confirmation.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(invalid(format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(invalid(format!("Choose a password of at most {MAX_PASSWORD_CHARS} characters.")));
    }
    if password != confirmation {
        return Err(invalid("The two passwords do not match."));
    }
    Ok(())
}

/// Parses the initial SOL balance a new user asks for: more than zero, at most `max`.
pub fn parse_initial_sol(text: &str, max: Amount) -> Result<Amount, ApiError> {
    let decimals = Token::Sol.decimals();
    let bounds =
        || format!("Choose an initial balance between 0.000000001 and {} SOL.", max.format_display(decimals, 9));
    let amount =
        Amount::parse(text, decimals).map_err(|error| ApiError::new(ErrorCode::InvalidAmount, error.to_string()))?;
    if amount.is_zero() || amount > max {
        return Err(ApiError::new(ErrorCode::InvalidAmount, bounds()));
    }
    Ok(amount)
}

/// A new Solana-style wallet address: the base58 public key of a fresh ed25519 key pair.
///
/// Solstice is custodial: balances live in its ledger and nothing is signed on a chain, so
/// the secret half of the pair is not kept.
pub fn new_wallet_address() -> WalletAddress {
    let seed: [u8; 32] = rand::thread_rng().r#gen();
    let signing_key = ed25519_dalek::SigningKey::from_bytes(&seed);
    WalletAddress::from_public_key(signing_key.verifying_key().as_bytes())
}

/// Creates a user and credits their initial SOL from the faucet, in one database transaction.
pub async fn sign_up(
    state: &HostState,
    password: &str,
    confirmation: &str,
    initial_sol: &str,
    client: Option<IpAddr>,
) -> Result<SignedUp, HostError> {
    check_new_password(password, confirmation)?;
    let amount = parse_initial_sol(initial_sol, state.config.max_initial_sol)?;
    state.limiter.sign_up_attempt(client).await?;
    state.limiter.reserve_faucet(client, amount).await?;
    let created = create_wallet(state, password, amount).await;
    if created.is_err() {
        // Best effort: a failed sign-up should not use up the network's faucet budget.
        if let Err(error) = state.limiter.release_faucet(client, amount).await {
            tracing::warn!(error = %error, "could not give back a failed sign-up's faucet reservation");
        }
    }
    created
}

async fn create_wallet(state: &HostState, password: &str, amount: Amount) -> Result<SignedUp, HostError> {
    let address = new_wallet_address();
    let password_hash = hash_password(state, password.to_owned()).await?;
    let user = UserDoc::new(&address, password_hash);
    let document = bson::to_document(&user)?;
    let key = IdempotencyKey::new(format!("airdrop:{address}"))?;
    let credit = Leg {
        from: AccountId::System(SystemAccount::Faucet),
        to: AccountId::wallet(&address),
        token: Token::Sol,
        amount,
    };
    let request = TransactionRequest::new(ReferenceKind::Airdrop, key, vec![credit])
        .with_side_write(SideWrite::Insert { collection: USERS.to_owned(), document, reference_field: None });
    let receipt = state.ledger.apply(request).await?;
    tracing::info!(%address, reference = %receipt.reference, "wallet created");
    Ok(SignedUp { address, sol_balance: amount, airdrop: receipt.reference })
}

/// Checks a wallet address and password, subject to the log-in limits.
///
/// The error for a wrong password and for an unknown address is the same, and takes as long.
pub async fn log_in(
    state: &HostState,
    address: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<WalletAddress, HostError> {
    let address =
        WalletAddress::parse(address).map_err(|error| ApiError::new(ErrorCode::InvalidAddress, error.to_string()))?;
    let attempt = state.limiter.log_in_attempt(&address, client).await?;
    let user = state.users.find_one(doc! { "_id": address.as_str() }).await?;
    let hash = user.as_ref().map_or_else(|| state.decoy_hash.to_string(), |user| user.password_hash.clone());
    let matches = verify_password(state, hash, password.to_owned()).await?;
    if !(matches && user.is_some()) {
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "Wrong wallet address or password.").into());
    }
    state.limiter.succeeded(&address, attempt).await?;
    Ok(address)
}

/// What the app shell shows of a logged-in user.
pub async fn me(state: &HostState, address: WalletAddress) -> Result<Me, HostError> {
    let sol_balance = state.ledger.balance(&AccountId::wallet(&address), Token::Sol).await?;
    Ok(Me { address, sol_balance })
}

async fn hash_password(state: &HostState, password: String) -> Result<String, HostError> {
    let _permit = state.hashing.acquire().await?;
    let hashed = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await??;
    Ok(hashed)
}

async fn verify_password(state: &HostState, hash: String, password: String) -> Result<bool, HostError> {
    let _permit = state.hashing.acquire().await?;
    let matches = tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)?;
        Ok::<_, argon2::password_hash::Error>(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await??;
    Ok(matches)
}

/// A hash of a random password no one knows, for [`HostState::decoy_hash`].
pub fn decoy_hash() -> String {
    let password: [u8; 32] = rand::thread_rng().r#gen();
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(&password, &salt).expect("hashing with default parameters succeeds").to_string()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_addresses_are_valid_and_distinct() {
        let a = new_wallet_address();
        let b = new_wallet_address();
        assert_ne!(a, b);
        assert_eq!(WalletAddress::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn passwords_must_be_long_enough_and_confirmed() {
        assert_eq!(check_new_password("short", "short").unwrap_err().code, ErrorCode::InvalidInput);
        assert!(check_new_password("correct horse", "correct horse").is_ok());
        let mismatch = check_new_password("correct horse", "correct house").unwrap_err();
        assert_eq!(mismatch.message, "The two passwords do not match.");
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert!(check_new_password(&long, &long).is_err());
    }

    #[test]
    fn the_initial_balance_is_bounded() {
        let max = Amount::from_whole(1_000, 9).unwrap();
        assert_eq!(parse_initial_sol("1000", max).unwrap(), max);
        assert_eq!(parse_initial_sol("0.5", max).unwrap().base_units(), 500_000_000);
        for bad in ["0", "1000.000000001", "5000", "-1", "lots", ""] {
            assert_eq!(parse_initial_sol(bad, max).unwrap_err().code, ErrorCode::InvalidAmount, "{bad}");
        }
        assert_eq!(
            parse_initial_sol("5000", max).unwrap_err().message,
            "Choose an initial balance between 0.000000001 and 1,000 SOL."
        );
    }
}
