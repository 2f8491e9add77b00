//! Internal service credentials: the host signs each request to a service with a shared
//! secret (HMAC-SHA256 over method, path, acting wallet, time and body); services accept only
//! requests whose signature checks out, and take the acting wallet from the signed request.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use solstice_types::{ApiError, ErrorCode, WalletAddress};

use crate::{
    error::ErrorResponse,
    start::{Secret, StartError},
};

pub const WALLET_HEADER: &str = "x-solstice-wallet";
pub const TIMESTAMP_HEADER: &str = "x-solstice-timestamp";
pub const SIGNATURE_HEADER: &str = "x-solstice-signature";
/// How far a request's timestamp may be from the service's clock.
const MAX_SKEW_MS: i64 = 30_000;
/// Largest body a signed request may carry.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The secret shared by the host and the services. Never printed.
#[derive(Debug, Clone)]
pub struct ServiceSecret(Secret<Arc<[u8]>>);

impl ServiceSecret {
    /// At least 32 characters: it is the only thing between the network and the ledger.
    pub fn new(secret: &str) -> Result<ServiceSecret, StartError> {
        if secret.len() < 32 {
            return Err(StartError::Config("the internal service secret must be at least 32 characters".to_owned()));
        }
        Ok(ServiceSecret(Secret::new(secret.as_bytes().into())))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose()).expect("HMAC takes keys of any length")
    }
}

/// The verified caller of a signed request, put in the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub wallet: WalletAddress,
}

fn message(mac: &mut Hmac<Sha256>, method: &str, path: &str, wallet: &str, timestamp_ms: i64, body: &[u8]) {
    let body_hash = Sha256::digest(body);
    for part in [method.as_bytes(), path.as_bytes(), wallet.as_bytes(), timestamp_ms.to_string().as_bytes()] {
        mac.update(part);
        mac.update(b"\n");
    }
    mac.update(&body_hash);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The headers that authenticate a request made for `wallet`.
pub fn sign(
    secret: &ServiceSecret,
    method: &str,
    path_and_query: &str,
    wallet: &WalletAddress,
    timestamp_ms: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let mut mac = secret.mac();
    message(&mut mac, method, path_and_query, wallet.as_str(), timestamp_ms, body);
    [
        (WALLET_HEADER, wallet.to_string()),
        (TIMESTAMP_HEADER, timestamp_ms.to_string()),
        (SIGNATURE_HEADER, hex(&mac.finalize().into_bytes())),
    ]
}

fn unauthorized() -> Response {
    ErrorResponse(ApiError::new(ErrorCode::Unauthorized, "Missing or invalid service credentials.")).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Middleware: refuses requests that are not signed with the secret, and gives the others a
/// [`Caller`].
pub async fn require_signature(State(secret): State<ServiceSecret>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    // A body past the limit is refused as such, before its signature is even looked at: the
    // host forwards only small forms, so the caller learns what is wrong instead of a 401.
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ErrorResponse(ApiError::new(ErrorCode::TooLarge, "The request is too large.")).into_response();
    };
    let headers = &parts.headers;
    let (Some(wallet), Some(timestamp), Some(signature)) =
        (header(headers, WALLET_HEADER), header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER))
    else {
        return unauthorized();
    };
    let (Ok(timestamp_ms), Some(signature), Ok(wallet)) =
        (timestamp.parse::<i64>(), unhex(signature), WalletAddress::parse(wallet))
    else {
        return unauthorized();
    };
    let now_ms = mongodb::bson::DateTime::now().timestamp_millis();
    if (now_ms - timestamp_ms).abs() > MAX_SKEW_MS {
        return unauthorized();
    }
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let mut mac = secret.mac();
    message(&mut mac, parts.method.as_str(), path, wallet.as_str(), timestamp_ms, &body);
    // Constant-time comparison.
    if mac.verify_slice(&signature).is_err() {
        return unauthorized();
    }
    parts.extensions.insert(Caller { wallet });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn short_secrets_are_refused_and_secrets_are_never_printed() {
        assert!(ServiceSecret::new("short").is_err());
        let secret = ServiceSecret::new("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(format!("{secret:?}"), "ServiceSecret(<redacted>)");
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<redacted>");
    }

    #[test]
    fn the_signature_covers_every_part_of_the_request() {
        let secret = ServiceSecret::new("0123456789abcdef0123456789abcdef").unwrap();
        let wallet = WalletAddress::from_public_key(&[3; 32]);
        let other = WalletAddress::from_public_key(&[4; 32]);
        let base = sign(&secret, "GET", "/v1/portfolio", &wallet, 1_000, b"");
        let variants = [
            sign(&secret, "POST", "/v1/portfolio", &wallet, 1_000, b""),
            sign(&secret, "GET", "/v1/other", &wallet, 1_000, b""),
            sign(&secret, "GET", "/v1/portfolio", &other, 1_000, b""),
            sign(&secret, "GET", "/v1/portfolio", &wallet, 1_001, b""),
            sign(&secret, "GET", "/v1/portfolio", &wallet, 1_000, b"x"),
        ];
        for variant in variants {
            assert_ne!(variant[2].1, base[2].1);
        }
    }
}
