//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};
use solstice_kit::openapi::{
    address_schema, amount_input_schema, body, error, idempotency_key_schema, reference_schema, service_document,
    signed_parameters, signed_parameters_and,
};

pub fn document() -> Value {
    let signed = signed_parameters();
    let validator_ids: Vec<String> = crate::validators().into_iter().map(|validator| validator.id).collect();
    let with_address = signed_parameters_and(json!([{ "name": "address", "in": "path", "required": true,
        "schema": address_schema(), "description": "The stake account's address." }]));
    let lamports = |description: &str| json!({ "type": "integer", "minimum": 0, "description": description });
    service_document(
        "Solstice stake service",
        env!("CARGO_PKG_VERSION"),
        "SOL delegated to validators: stake accounts activate at the next epoch boundary, earn a compounded reward every epoch (commission deducted), deactivate at the boundary after unstaking, and can then be withdrawn. Called by the Solstice host with signed requests; the acting wallet is the signed one.",
        json!({
            "/v1/validators": { "get": { "summary": "The validators on offer.", "parameters": signed,
                "responses": { "200": { "description": "Validators.", "content": { "application/json": { "schema": {
                    "type": "array", "items": { "$ref": "#/components/schemas/Validator" } } } } },
                    "401": error("Missing or invalid service credentials.") } } },
            "/v1/epoch": { "get": { "summary": "The current epoch, when it started and when it ends.", "parameters": signed,
                "responses": { "200": body("The epoch.", "EpochInfo"), "401": error("Missing or invalid service credentials.") } } },
            "/v1/stakes": {
                "get": { "summary": "The epoch, the validators and the caller's stake accounts.", "parameters": signed,
                    "responses": { "200": body("Overview.", "StakeOverview"), "401": error("Missing or invalid service credentials."),
                        "500": error("A fault of ours.") } },
                "post": { "summary": "Stake SOL with a validator.",
                    "description": "Moves the amount from the wallet to the stake pool and creates an activating stake account. A retry with the same idempotency key, validator and amount returns the first account (200); the key with another validator or amount is refused (409).",
                    "parameters": signed,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/StakeRequest" } } } },
                    "responses": {
                        "201": body("Staked.", "StakeAccount"), "200": body("Staked before with this key.", "StakeAccount"),
                        "400": error("Unknown validator, invalid amount or below the minimum, invalid key."),
                        "401": error("Missing or invalid service credentials."),
                        "409": error("The wallet holds as many stake accounts not yet withdrawn as it may (STAKE_MAX_OPEN_ACCOUNTS, default 100; conflict: withdraw some first), or the idempotency key was used for a different stake: another validator or amount (idempotency_conflict). Nothing moved."),
                        "422": error("Insufficient SOL."), "500": error("A fault of ours."), "503": error("Unavailable; retry with the same key.")
                    } }
            },
            "/v1/stakes/{address}/unstake": { "post": { "summary": "Unstake: the account stops earning at the end of the epoch.",
                "description": "With an idempotency key, a retry (the same key for the same account) returns the account (200) instead of 'already unstaked'; the key of another account's unstake is refused (409 idempotency_conflict).",
                "parameters": with_address.clone(),
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UnstakeRequest" } } } },
                "responses": { "200": body("Deactivating (or unstaked before with this key).", "StakeAccount"),
                    "400": error("Invalid key."), "401": error("Missing or invalid service credentials."),
                    "404": error("The caller has no such stake account."),
                    "409": error("Already unstaked or withdrawn, or the idempotency key was used for another stake account."),
                    "500": error("A fault of ours.") } } },
            "/v1/stakes/{address}/withdraw": { "post": { "summary": "Withdraw an inactive stake account to the wallet.",
                "description": "Pays the account's principal and rewards back to the wallet. The principal always comes back: rewards the rewards pool cannot pay at that moment stay owed (rewards_owed) and are paid to the wallet once it can. A retry with the same idempotency key for the same account returns it (200); the key of another account's withdrawal is refused (409).",
                "parameters": with_address,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/WithdrawRequest" } } } },
                "responses": { "201": body("Withdrawn.", "StakeAccount"), "200": body("Withdrawn before with this key.", "StakeAccount"),
                    "400": error("Invalid key."), "401": error("Missing or invalid service credentials."),
                    "404": error("The caller has no such stake account."),
                    "409": error("Still active or deactivating, or already withdrawn; or the idempotency key was used for another stake account's withdrawal (idempotency_conflict; nothing moved)."), "500": error("A fault of ours.") } } }
        }),
        json!({
            "Validator": { "type": "object", "required": ["id", "name", "commission_bps", "apy_bps"], "properties": {
                "id": { "type": "string" }, "name": { "type": "string" },
                "commission_bps": { "type": "integer", "minimum": 0, "maximum": 10000 },
                "apy_bps": { "type": "integer", "minimum": 0, "description": "Estimated yearly yield before commission." } } },
            "EpochInfo": { "type": "object", "required": ["epoch", "started_at_ms", "ends_at_ms", "length_ms", "now_ms"], "properties": {
                "epoch": { "type": "integer" }, "started_at_ms": { "type": "integer" }, "ends_at_ms": { "type": "integer" },
                "length_ms": { "type": "integer" }, "now_ms": { "type": "integer" } } },
            "StakeAccount": { "type": "object",
                "required": ["address", "validator", "state", "principal", "rewards", "amount", "rewards_owed", "activation_epoch", "deactivation_epoch", "created_at_ms", "reference"],
                "properties": {
                    "address": address_schema(), "validator": { "$ref": "#/components/schemas/Validator" },
                    "state": { "type": "string", "enum": ["activating", "active", "deactivating", "inactive", "withdrawn"] },
                    "principal": lamports("Staked, in lamports."), "rewards": lamports("Rewards earned, in lamports."),
                    "amount": lamports("Principal plus rewards, in lamports."),
                    "rewards_owed": lamports("Rewards earned but not yet paid because the rewards pool could not pay them at withdrawal, in lamports; paid to the wallet as soon as it can."),
                    "activation_epoch": { "type": "integer" }, "deactivation_epoch": { "type": ["integer", "null"] },
                    "created_at_ms": { "type": "integer" }, "reference": { "anyOf": [reference_schema(), { "type": "null" }] } } },
            "StakeRequest": { "type": "object", "required": ["validator", "amount", "idempotency_key"], "properties": {
                "validator": { "type": "string", "enum": validator_ids, "description": "The id of one of the listed validators." },
                "amount": amount_input_schema(),
                "idempotency_key": idempotency_key_schema() } },
            "UnstakeRequest": { "type": "object", "properties": {
                "idempotency_key": { "anyOf": [idempotency_key_schema(), { "type": "null" }],
                    "description": "Makes the unstake safe to retry. Optional for callers that send none yet: without it, a retry of an unstake that went through is answered 409 already unstaked." } } },
            "WithdrawRequest": { "type": "object", "required": ["idempotency_key"], "properties": {
                "idempotency_key": idempotency_key_schema() } },
            "StakeOverview": { "type": "object", "required": ["epoch", "validators", "accounts"], "properties": {
                "epoch": { "$ref": "#/components/schemas/EpochInfo" },
                "validators": { "type": "array", "items": { "$ref": "#/components/schemas/Validator" } },
                "accounts": { "type": "array", "items": { "$ref": "#/components/schemas/StakeAccount" } } } }
        }),
    )
}
