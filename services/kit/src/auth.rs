//! Internal service credentials.
//!
//! Each caller of the services (today, the host) has its own Ed25519 key pair. It signs every
//! request (method, path and query, acting wallet, time, a fresh nonce and a hash of the body)
//! with its private key; the services hold only the callers' *public* keys
//! (`SOLSTICE_TRUSTED_CALLERS`), so no service, the read-only portfolio service included, holds
//! anything that could sign a request that moves money.
//!
//! A signature is good for 30 seconds either side of the service's clock, and a request that
//! changes something is accepted once: its nonce is recorded in MongoDB (shared by every
//! replica, forgotten by a TTL index once the signature has expired; the nonces of requests
//! arriving together go in one insert, see [`crate::nonces`]), and a second request with the
//! same nonce is refused. Reads are not recorded, so that the portfolio service stays
//! read-only; a replayed read can only show the same wallet's data to the same caller again.
//! Nor are the `POST`s a service declares effect-free ([`Verifier::effect_free`]: a swap quote,
//! which is computed, sealed and returned without being stored), for the same reason.

use std::{collections::HashMap, fmt, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use mongodb::{Database, bson::DateTime};
use sha2::{Digest, Sha256};
use solstice_types::{ApiError, ErrorCode, WalletAddress, hex, unhex};

pub use crate::nonces::NONCES;
use crate::{
    error::ErrorResponse,
    nonces::NonceLog,
    start::{Secret, StartError},
};

pub const WALLET_HEADER: &str = "x-solstice-wallet";
pub const TIMESTAMP_HEADER: &str = "x-solstice-timestamp";
pub const CALLER_HEADER: &str = "x-solstice-caller";
pub const NONCE_HEADER: &str = "x-solstice-nonce";
pub const SIGNATURE_HEADER: &str = "x-solstice-signature";
/// How far a request's timestamp may be from the service's clock.
const MAX_SKEW_MS: i64 = 30_000;
/// Largest body a signed request may carry.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A caller's private signing key. Never printed.
#[derive(Clone)]
pub struct SigningKey {
    caller: Arc<str>,
    key: Secret<Arc<ed25519_dalek::SigningKey>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.caller)
    }
}

impl SigningKey {
    /// The key of `caller` from its 32-byte seed, written as 64 hex digits.
    pub fn from_hex(caller: &str, seed: &str) -> Result<SigningKey, StartError> {
        let seed: [u8; 32] = unhex(seed.trim()).and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| {
            StartError::Config("the signing key must be 64 hex digits (32 random bytes: `openssl rand -hex 32`)".into())
        })?;
        if !valid_caller_name(caller) {
            return Err(StartError::Config(format!("{caller:?} is not a valid caller name")));
        }
        Ok(SigningKey {
            caller: caller.into(),
            key: Secret::new(Arc::new(ed25519_dalek::SigningKey::from_bytes(&seed))),
        })
    }

    pub fn caller(&self) -> &str {
        &self.caller
    }

    /// The public half, in hex: what the services are given to check this caller's signatures.
    pub fn public_key_hex(&self) -> String {
        hex(self.key.expose().verifying_key().as_bytes())
    }

    /// This caller's entry in a service's `SOLSTICE_TRUSTED_CALLERS`: `name=public key`.
    pub fn trusted_entry(&self) -> String {
        format!("{}={}", self.caller, self.public_key_hex())
    }
}

fn valid_caller_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The verified caller of a signed request, put in the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub wallet: WalletAddress,
    /// Which caller signed it (`host`).
    pub name: String,
}

/// What a service needs to check requests: the trusted callers' public keys and the store of
/// nonces already used.
#[derive(Clone)]
pub struct Verifier {
    /// Each caller's keys: usually one; two while its key is being rotated.
    callers: Arc<HashMap<String, Vec<VerifyingKey>>>,
    nonces: NonceLog,
    /// Paths whose `POST` changes nothing (see [`Verifier::effect_free`]).
    effect_free: Arc<[&'static str]>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.callers.keys().collect();
        names.sort();
        f.debug_struct("Verifier").field("callers", &names).finish_non_exhaustive()
    }
}

impl Verifier {
    /// Parses `trusted` (`name=64 hex digits of its public key`, comma-separated; a name may
    /// appear twice while its key is rotated: either key is accepted); nonces are recorded in
    /// `database`.
    pub fn new(trusted: &str, database: &Database) -> Result<Verifier, StartError> {
        let mut callers = HashMap::new();
        for entry in trusted.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let (name, key) = entry.split_once('=').ok_or_else(|| {
                StartError::Config(format!("trusted caller {entry:?} is not of the form name=public key"))
            })?;
            let bytes: [u8; 32] = unhex(key.trim())
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| StartError::Config(format!("the public key of caller {name:?} is not 64 hex digits")))?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|_| StartError::Config(format!("the public key of caller {name:?} is not a valid key")))?;
            if !valid_caller_name(name.trim()) {
                return Err(StartError::Config(format!("{name:?} is not a valid caller name")));
            }
            callers.entry(name.trim().to_owned()).or_insert_with(Vec::new).push(key);
        }
        if callers.is_empty() {
            return Err(StartError::Config("no trusted caller is configured (SOLSTICE_TRUSTED_CALLERS)".to_owned()));
        }
        Ok(Verifier { callers: Arc::new(callers), nonces: NonceLog::new(database), effect_free: Arc::new([]) })
    }

    /// Declares that a `POST` to one of `paths` (exactly these paths) changes nothing: it only
    /// computes an answer for the calling wallet. Such a request is still checked for its
    /// signature and age, but its nonce is not recorded, which spares the database a write; a
    /// replay within the signature's 30 seconds gets the same kind of answer again, for the
    /// same wallet, to whoever could already read the first.
    pub fn effect_free(mut self, paths: &[&'static str]) -> Verifier {
        self.effect_free = paths.into();
        self
    }

    /// Whether a request must be accepted once: it may change something.
    fn records(&self, method: &Method, path: &str) -> bool {
        match *method {
            Method::GET | Method::HEAD => false,
            Method::POST => !self.effect_free.contains(&path),
            _ => true,
        }
    }

    /// Records `nonce` of `caller` as used; `false` if it was already.
    async fn first_use(&self, caller: &str, nonce: &str, timestamp_ms: i64) -> Result<bool, mongodb::error::Error> {
        // Kept until the signature could no longer be accepted anyway.
        let expires_at = DateTime::from_millis(timestamp_ms + 2 * MAX_SKEW_MS);
        self.nonces.first_use(format!("{caller}:{nonce}"), expires_at).await
    }
}

fn message(
    method: &str,
    path: &str,
    wallet: &str,
    timestamp_ms: i64,
    caller: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(256);
    for part in [method, path, wallet, &timestamp_ms.to_string(), caller, nonce] {
        message.extend_from_slice(part.as_bytes());
        message.push(b'\n');
    }
    message.extend_from_slice(&Sha256::digest(body));
    message
}

/// A fresh random nonce: 128 bits, in hex.
pub fn new_nonce() -> String {
    hex(&rand::random::<[u8; 16]>())
}

/// The headers that authenticate a request made for `wallet`, with a fresh nonce.
pub fn sign(
    key: &SigningKey,
    method: &str,
    path_and_query: &str,
    wallet: &WalletAddress,
    timestamp_ms: i64,
    body: &[u8],
) -> [(&'static str, String); 5] {
    sign_with_nonce(key, method, path_and_query, wallet, timestamp_ms, &new_nonce(), body)
}

/// [`sign`] with a given nonce.
pub fn sign_with_nonce(
    key: &SigningKey,
    method: &str,
    path_and_query: &str,
    wallet: &WalletAddress,
    timestamp_ms: i64,
    nonce: &str,
    body: &[u8],
) -> [(&'static str, String); 5] {
    let message = message(method, path_and_query, wallet.as_str(), timestamp_ms, &key.caller, nonce, body);
    let signature = key.key.expose().sign(&message);
    [
        (WALLET_HEADER, wallet.to_string()),
        (TIMESTAMP_HEADER, timestamp_ms.to_string()),
        (CALLER_HEADER, key.caller.to_string()),
        (NONCE_HEADER, nonce.to_owned()),
        (SIGNATURE_HEADER, hex(&signature.to_bytes())),
    ]
}

fn unauthorized() -> Response {
    ErrorResponse(ApiError::new(ErrorCode::Unauthorized, "Missing or invalid service credentials.")).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Middleware: refuses requests that are not signed by a trusted caller, or that reuse the
/// nonce of a request that changed something, and gives the others a [`Caller`].
pub async fn require_signature(State(verifier): State<Verifier>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    // A body past the limit is refused as such, before its signature is even looked at: the
    // host forwards only small forms, so the caller learns what is wrong instead of a 401.
    let body = match crate::http::read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let headers = &parts.headers;
    let (Some(wallet), Some(timestamp), Some(caller), Some(nonce), Some(signature)) = (
        header(headers, WALLET_HEADER),
        header(headers, TIMESTAMP_HEADER),
        header(headers, CALLER_HEADER),
        header(headers, NONCE_HEADER),
        header(headers, SIGNATURE_HEADER),
    ) else {
        return unauthorized();
    };
    let (Ok(timestamp_ms), Some(signature), Ok(wallet), Some(keys)) = (
        timestamp.parse::<i64>(),
        unhex(signature).and_then(|bytes| Signature::from_slice(&bytes).ok()),
        WalletAddress::parse(wallet),
        verifier.callers.get(caller),
    ) else {
        return unauthorized();
    };
    if nonce.len() < 16 || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return unauthorized();
    }
    let now_ms = DateTime::now().timestamp_millis();
    if now_ms.abs_diff(timestamp_ms) > MAX_SKEW_MS.unsigned_abs() {
        return unauthorized();
    }
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let message = message(parts.method.as_str(), path, wallet.as_str(), timestamp_ms, caller, nonce, &body);
    if !keys.iter().any(|key| key.verify_strict(&message, &signature).is_ok()) {
        return unauthorized();
    }
    if verifier.records(&parts.method, parts.uri.path()) {
        match verifier.first_use(caller, nonce, timestamp_ms).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(caller, path, "a signed request was replayed");
                return ErrorResponse(ApiError::new(ErrorCode::Unauthorized, "This signed request was already used."))
                    .into_response();
            }
            Err(error) => {
                tracing::warn!(error = %error.kind, "could not record a request's nonce");
                return ErrorResponse(ApiError::unavailable()).into_response();
            }
        }
    }
    let name = caller.to_owned();
    parts.extensions.insert(Caller { wallet, name });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn bad_keys_are_refused_and_keys_are_never_printed() {
        assert!(SigningKey::from_hex("host", "short").is_err());
        assert!(SigningKey::from_hex("not a name", SEED).is_err());
        let key = SigningKey::from_hex("host", SEED).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(host, <redacted>)");
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<redacted>");
        assert_eq!(key.trusted_entry(), format!("host={}", key.public_key_hex()));
    }

    #[test]
    fn the_signature_covers_every_part_of_the_request() {
        let key = SigningKey::from_hex("host", SEED).unwrap();
        let other_caller = SigningKey::from_hex("other", SEED).unwrap();
        let wallet = WalletAddress::from_public_key(&[3; 32]);
        let other = WalletAddress::from_public_key(&[4; 32]);
        let nonce = "00112233445566778899aabbccddeeff";
        let base = sign_with_nonce(&key, "GET", "/v1/portfolio", &wallet, 1_000, nonce, b"");
        let variants = [
            sign_with_nonce(&key, "POST", "/v1/portfolio", &wallet, 1_000, nonce, b""),
            sign_with_nonce(&key, "GET", "/v1/other", &wallet, 1_000, nonce, b""),
            sign_with_nonce(&key, "GET", "/v1/portfolio", &other, 1_000, nonce, b""),
            sign_with_nonce(&key, "GET", "/v1/portfolio", &wallet, 1_001, nonce, b""),
            sign_with_nonce(&key, "GET", "/v1/portfolio", &wallet, 1_000, "00112233445566778899aabbccddeef0", b""),
            sign_with_nonce(&other_caller, "GET", "/v1/portfolio", &wallet, 1_000, nonce, b""),
            sign_with_nonce(&key, "GET", "/v1/portfolio", &wallet, 1_000, nonce, b"x"),
        ];
        for variant in variants {
            assert_ne!(variant[4].1, base[4].1);
        }
    }

    #[tokio::test]
    async fn trusted_callers_are_parsed_strictly() {
        let key = SigningKey::from_hex("host", SEED).unwrap();
        let client = mongodb::Client::with_options(mongodb::options::ClientOptions::default()).unwrap();
        let database = client.database("unused");
        assert!(Verifier::new(&key.trusted_entry(), &database).is_ok());
        assert!(Verifier::new(&format!(" {} , ", key.trusted_entry()), &database).is_ok());
        // During a rotation, the old key and the new one.
        let next = SigningKey::from_hex("host", &"02".repeat(32)).unwrap();
        let both = Verifier::new(&format!("{},{}", key.trusted_entry(), next.trusted_entry()), &database).unwrap();
        assert_eq!(both.callers["host"].len(), 2);
        for bad in ["", "host", "host=abc", &format!("bad name={}", key.public_key_hex())] {
            assert!(Verifier::new(bad, &database).is_err(), "{bad:?} was accepted");
        }
    }
}
