//! Pieces every service's OpenAPI document shares: the signed-request headers, the error
//! body, the operational endpoints and common schemas.

use serde_json::{Value, json};

/// The headers of a signed internal request.
pub fn signed_parameters() -> Value {
    json!([
        { "name": "x-solstice-wallet", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "The acting wallet's address." },
        { "name": "x-solstice-timestamp", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "Unix milliseconds; must be within 30 s of the service's clock." },
        { "name": "x-solstice-caller", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "The calling component (`host`): one of the service's trusted callers." },
        { "name": "x-solstice-nonce", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "16 to 64 hex digits, fresh for each request: a request that changes something is accepted once." },
        { "name": "x-solstice-signature", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "Hex Ed25519 signature, with the caller's private key, of method, path and query, wallet, timestamp, caller, nonce (each followed by a line feed) and the SHA-256 of the body." }
    ])
}

/// The signature headers followed by an operation's own parameters (`extra`, a JSON array).
pub fn signed_parameters_and(extra: Value) -> Value {
    let mut parameters = signed_parameters().as_array().cloned().unwrap_or_default();
    parameters.extend(extra.as_array().cloned().unwrap_or_default());
    Value::Array(parameters)
}

/// An OpenAPI 3.1 document of a service: its `paths` with the operational ones added (see
/// [`with_operational_paths`]) and its component `schemas` with the shared error body.
pub fn service_document(title: &str, version: &str, description: &str, paths: Value, mut schemas: Value) -> Value {
    if let Some(schemas) = schemas.as_object_mut() {
        schemas.insert("Error".to_owned(), error_schema());
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": version, "description": description },
        "paths": with_operational_paths(paths),
        "components": { "schemas": schemas }
    })
}

/// The schema of an idempotency key: what `input::idempotency_key` accepts.
pub fn idempotency_key_schema() -> Value {
    json!({ "type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[A-Za-z0-9_-]+$" })
}

/// A response with the shared error body.
pub fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// A JSON response whose body is the component schema `schema`.
pub fn body(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// The error body's schema.
fn error_schema() -> Value {
    json!({ "type": "object", "required": ["code", "message"], "properties": {
        "code": { "type": "string", "description": "Stable machine-readable code from the shared table, e.g. insufficient_funds." },
        "message": { "type": "string", "description": "A sentence for people." } } })
}

/// `/healthz`, `/readyz` and `/metrics`, added to `paths`; and to every API operation, the
/// answers every signed route can give: a body over 64 KiB is refused before anything else, and
/// a database that is busy or unreachable makes any operation answer 503 (retry; a write with
/// the same idempotency key).
fn with_operational_paths(mut paths: Value) -> Value {
    for operation in paths.as_object_mut().into_iter().flat_map(|paths| paths.values_mut()) {
        for responses in operation.as_object_mut().into_iter().flat_map(|methods| methods.values_mut()) {
            if let Some(responses) = responses.get_mut("responses").and_then(Value::as_object_mut) {
                responses.entry("413").or_insert_with(|| error("The request body is larger than 64 KiB."));
                responses.entry("503").or_insert_with(|| error("The database is unavailable; retry."));
            }
        }
    }
    let operational = json!({
        "/healthz": { "get": { "summary": "Alive.", "responses": { "200": { "description": "The process is running." } } } },
        "/readyz": { "get": { "summary": "Ready.", "responses": {
            "200": { "description": "The database answers." }, "503": { "description": "The database is unreachable." } } } },
        "/metrics": { "get": { "summary": "Prometheus metrics.", "responses": { "200": { "description": "Metrics in text format." } } } }
    });
    if let (Some(paths), Value::Object(operational)) = (paths.as_object_mut(), operational) {
        paths.extend(operational);
    }
    paths
}

/// The schema of a token symbol.
pub fn token_schema() -> Value {
    json!({ "type": "string", "enum": ["SOL", "USDC", "USDT", "JUP", "BONK", "RAY", "JTO"] })
}

/// The schema of a reference number (the services also take lower case and surrounding
/// spaces).
pub fn reference_schema() -> Value {
    json!({ "type": "string", "pattern": "^(SWP|TRF|STK|AIR|GEN)-[0-9A-HJKMNP-TV-Z]{10}-[0-9A-HJKMNP-TV-Z]{6}$",
        "description": "A reference number, e.g. TRF-01JDX3Q7ZK-8M2XQF." })
}

/// The schema of a wallet address: base58 of a 32-byte public key.
pub fn address_schema() -> Value {
    json!({ "type": "string", "pattern": "^[1-9A-HJ-NP-Za-km-z]{32,44}$",
        "description": "A wallet address: base58 of a 32-byte key." })
}

/// The schema of an amount typed by a person: whole tokens as a decimal string. It must also
/// be above zero and have no more decimals than the token.
pub fn amount_input_schema() -> Value {
    json!({ "type": "string", "pattern": "^[0-9]{1,12}(\\.[0-9]{1,9})?$",
        "description": "Decimal amount in whole tokens, e.g. \"1.25\": above zero, with at most the token's decimals." })
}

/// Earliest and latest instants (Unix milliseconds) a date filter may name: years 1 to 9999,
/// what every store can represent.
pub const MIN_DATE_MS: i64 = -62_135_596_800_000;
pub const MAX_DATE_MS: i64 = 253_402_300_799_999;
