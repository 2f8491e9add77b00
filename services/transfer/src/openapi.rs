//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};
use solstice_kit::openapi::{
    address_schema, amount_input_schema, body, error, idempotency_key_schema, reference_schema, service_document,
    signed_parameters, signed_parameters_and, token_schema,
};

pub fn document() -> Value {
    let signed = signed_parameters();
    let with = signed_parameters_and;
    let reference = json!([{ "name": "reference", "in": "path", "required": true, "schema": reference_schema(),
        "description": "A transfer's reference number, e.g. TRF-01JDX3Q7ZK-8M2XQF." }]);
    service_document(
        "Solstice transfer service",
        env!("CARGO_PKG_VERSION"),
        "Tokens sent between Solstice wallets. Called by the Solstice host with signed requests; the acting wallet is the signed one.",
        json!({
            "/v1/transfers": {
                "post": {
                    "summary": "Send tokens from the calling wallet.",
                    "description": "Moves the amount to the recipient in one ledger transaction. A retry with the same idempotency key and the same recipient, token, amount and memo returns the first transfer (200) and moves nothing again; the key with any of them changed is refused (409).",
                    "parameters": signed,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SendTransfer" } } } },
                    "responses": {
                        "201": body("Sent.", "Transfer"),
                        "200": body("Sent before with this idempotency key: the first transfer.", "Transfer"),
                        "400": error("A field is invalid: address, token, amount, memo (too long, a line break, or invisible or direction-changing characters) or key."),
                        "401": error("Missing or invalid service credentials."),
                        "409": error("The idempotency key was used for a different transfer: another recipient, token, amount or memo (idempotency_conflict; nothing moved)."),
                        "422": error("Insufficient funds, or the recipient is not a Solstice wallet."),
                        "500": error("A fault of ours."),
                        "503": error("The database is unavailable; retry with the same key.")
                    }
                },
                "get": {
                    "summary": "The calling wallet's transfers, sent and received, newest first.",
                    "parameters": with(json!([
                        { "name": "before", "in": "query", "required": false, "schema": reference_schema(),
                          "description": "The next_before of the previous page." },
                        { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }
                    ])),
                    "responses": {
                        "200": body("A page of transfers.", "TransferPage"),
                        "400": error("Invalid cursor or limit."),
                        "401": error("Missing or invalid service credentials."),
                        "500": error("A fault of ours.")
                    }
                }
            },
            "/v1/transfers/{reference}": { "get": {
                "summary": "One of the calling wallet's transfers.",
                "parameters": with(reference),
                "responses": {
                    "200": body("The transfer.", "Transfer"),
                    "400": error("Not a reference number."),
                    "401": error("Missing or invalid service credentials."),
                    "404": error("The wallet has no transfer with this reference."),
                    "500": error("A fault of ours.")
                }
            } },
            "/v1/recipients/{address}": { "get": {
                "summary": "Whether an address is a Solstice wallet that can receive transfers.",
                "parameters": with(json!([{ "name": "address", "in": "path", "required": true, "schema": address_schema() }])),
                "responses": {
                    "200": body("A Solstice wallet.", "Recipient"),
                    "400": error("Not a wallet address."),
                    "401": error("Missing or invalid service credentials."),
                    "404": error("No Solstice wallet has this address."),
                    "500": error("A fault of ours.")
                }
            } }
        }),
        json!({
            "SendTransfer": { "type": "object", "required": ["to", "token", "amount", "idempotency_key"],
                "properties": {
                    "to": address_schema(),
                    "token": token_schema(),
                    "amount": amount_input_schema(),
                    "memo": { "type": ["string", "null"], "maxLength": 140,
                        "description": "Trimmed; at most 140 characters on one line, without control, invisible (zero-width) or direction-changing (bidi) characters." },
                    "idempotency_key": idempotency_key_schema() } },
            "Transfer": { "type": "object",
                "required": ["reference", "direction", "from", "to", "token", "amount", "memo", "created_at_ms"],
                "properties": {
                    "reference": reference_schema(),
                    "direction": { "type": "string", "enum": ["sent", "received"] },
                    "from": address_schema(),
                    "to": address_schema(),
                    "token": token_schema(),
                    "amount": { "type": "integer", "minimum": 1, "description": "Base units of the token." },
                    "memo": { "type": ["string", "null"] },
                    "created_at_ms": { "type": "integer", "description": "Unix milliseconds." } } },
            "TransferPage": { "type": "object", "required": ["transfers", "next_before"],
                "properties": {
                    "transfers": { "type": "array", "items": { "$ref": "#/components/schemas/Transfer" } },
                    "next_before": { "anyOf": [reference_schema(), { "type": "null" }] } } },
            "Recipient": { "type": "object", "required": ["address"], "properties": { "address": address_schema() } }
        }),
    )
}
