//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};
use solstice_kit::openapi::{
    MAX_DATE_MS, MIN_DATE_MS, amount_input_schema, body, error, idempotency_key_schema, reference_schema,
    service_document, signed_parameters, signed_parameters_and, token_schema,
};

pub fn document() -> Value {
    let signed = signed_parameters();
    let with = signed_parameters_and;
    let units = |description: &str| json!({ "type": "integer", "minimum": 0, "description": description });
    let picodollars =
        json!({ "type": "integer", "minimum": 0, "description": "USD per whole token, in picodollars (1e-12 USD)." });
    let side = json!({ "type": "string", "enum": ["exact_in", "exact_out"] });
    service_document(
        "Solstice swap service",
        env!("CARGO_PKG_VERSION"),
        "The platform's exchange: firm quotes at live prices, swaps filled against the treasury, swap history. Called by the Solstice host with signed requests; the acting wallet is the signed one.",
        json!({
            "/v1/quotes": { "post": {
                "summary": "A quote for a swap.",
                "description": "Prices the swap on the latest tick (recorded as `tick`): amounts, fee, price impact, and the bound the fill must stay within (min_received or max_sold, from the slippage tolerance), executable until expires_at_ms. Nothing is stored: the id carries the terms, sealed for the calling wallet, so a wallet may ask for as many quotes as it likes. Refused with 503 price_stale when the latest tick is stale or the sources disagree about a token.",
                "parameters": signed,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/QuoteRequest" } } } },
                "responses": {
                    "201": body("The quote.", "Quote"),
                    "400": error("Unknown token, same token twice, invalid amount or slippage."),
                    "401": error("Missing or invalid service credentials."),
                    "422": error("Too large for the exchange."),
                    "500": error("A fault of ours."),
                    "503": error("Prices are stale, or the database is unavailable.")
                }
            } },
            "/v1/swaps": {
                "post": {
                    "summary": "Execute a quote.",
                    "description": "Prices the swap again on the latest tick and fills at that live price within the quote's bound, in one ledger transaction, or fails and moves nothing. A quote fills once, whatever the key. A retry with the same idempotency key and quote returns the first swap (200); the key with another quote is refused (409).",
                    "parameters": signed,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ExecuteSwap" } } } },
                    "responses": {
                        "201": body("Swapped.", "Swap"),
                        "200": body("Executed before with this idempotency key: the first swap.", "Swap"),
                        "400": error("Invalid idempotency key."),
                        "401": error("Missing or invalid service credentials."),
                        "404": error("The caller has no such quote (an id changed, or made for another wallet)."),
                        "409": error("The quote expired, was used already, or the price moved past the tolerance; or the idempotency key was used for another quote (idempotency_conflict; nothing moved)."),
                        "422": error("Insufficient funds or liquidity."),
                        "500": error("A fault of ours."),
                        "503": error("Prices are stale, or the database is unavailable.")
                    }
                },
                "get": {
                    "summary": "The caller's swaps, newest first.",
                    "parameters": with(json!([
                        { "name": "token", "in": "query", "required": false, "schema": { "anyOf": [token_schema(), { "const": "" }] }, "description": "Only swaps of this token (either side); empty for all." },
                        { "name": "since", "in": "query", "required": false, "schema": { "type": "integer", "minimum": MIN_DATE_MS, "maximum": MAX_DATE_MS }, "description": "Unix milliseconds, inclusive." },
                        { "name": "until", "in": "query", "required": false, "schema": { "type": "integer", "minimum": MIN_DATE_MS, "maximum": MAX_DATE_MS }, "description": "Unix milliseconds, exclusive; after since." },
                        { "name": "before", "in": "query", "required": false, "schema": reference_schema(), "description": "The next_before of the previous page." },
                        { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }
                    ])),
                    "responses": {
                        "200": body("A page of swaps.", "SwapPage"),
                        "400": error("Invalid filter, cursor or limit."),
                        "401": error("Missing or invalid service credentials."),
                        "500": error("A fault of ours.")
                    }
                }
            },
            "/v1/swaps/{reference}": { "get": {
                "summary": "One of the caller's swaps by reference number.",
                "parameters": with(json!([{ "name": "reference", "in": "path", "required": true, "schema": reference_schema(),
                    "description": "e.g. SWP-01JDX3Q7ZK-8M2XQF" }])),
                "responses": {
                    "200": body("The swap.", "Swap"),
                    "400": error("Not a reference number."),
                    "401": error("Missing or invalid service credentials."),
                    "404": error("The caller has no swap with this reference."),
                    "500": error("A fault of ours.")
                }
            } }
        }),
        json!({
            "QuoteRequest": { "type": "object", "required": ["from", "to", "amount", "side"], "properties": {
                "from": token_schema(), "to": token_schema(),
                "amount": amount_input_schema(),
                "side": side.clone(),
                "slippage_bps": { "type": ["integer", "null"], "minimum": 1, "maximum": 500, "description": "Default 50 (0.5 %)." } } },
            "Quote": { "type": "object",
                "required": ["id", "from", "to", "side", "amount_in", "amount_out", "fee", "fee_bps", "price_impact_bps", "price_in", "price_out", "tick", "slippage_bps", "min_received", "max_sold", "quoted_at_ms", "expires_at_ms"],
                "properties": {
                    "id": { "type": "string", "maxLength": 160, "description": "What executes it: the terms, sealed for the wallet it was made for." }, "from": token_schema(), "to": token_schema(), "side": side.clone(),
                    "amount_in": units("Paid, base units of from."), "amount_out": units("Received after the fee, base units of to."),
                    "fee": units("Fee, base units of to."), "fee_bps": { "type": "integer", "minimum": 0 },
                    "price_impact_bps": { "type": "integer", "minimum": 0 },
                    "price_in": picodollars.clone(), "price_out": picodollars.clone(),
                    "tick": { "type": "integer", "minimum": 0, "description": "The number of the price tick the quote was made on." },
                    "slippage_bps": { "type": "integer", "minimum": 1, "maximum": 500 },
                    "min_received": units("Least received if the price moves."), "max_sold": units("Most paid if the price moves."),
                    "quoted_at_ms": { "type": "integer" }, "expires_at_ms": { "type": "integer" } } },
            "ExecuteSwap": { "type": "object", "required": ["quote_id", "idempotency_key"], "properties": {
                "quote_id": { "type": "string" },
                "idempotency_key": idempotency_key_schema() } },
            "Swap": { "type": "object",
                "required": ["reference", "status", "quote_id", "side", "from", "to", "amount_in", "amount_out", "quoted_amount_in", "quoted_amount_out", "fee", "fee_bps", "price_impact_bps", "slippage_bps", "quoted_price_in", "quoted_price_out", "price_in", "price_out", "created_at_ms"],
                "properties": {
                    "reference": reference_schema(), "status": { "type": "string", "enum": ["completed"] },
                    "quote_id": { "type": "string" }, "side": side, "from": token_schema(), "to": token_schema(),
                    "amount_in": units("Paid, at the live price."), "amount_out": units("Received, at the live price."),
                    "quoted_amount_in": units("What the quote said would be paid."), "quoted_amount_out": units("What the quote said would be received."),
                    "fee": units("Fee, in the to-token."),
                    "fee_bps": { "type": "integer" }, "price_impact_bps": { "type": "integer" }, "slippage_bps": { "type": "integer" },
                    "quoted_price_in": picodollars.clone(), "quoted_price_out": picodollars.clone(),
                    "price_in": picodollars.clone(), "price_out": picodollars,
                    "created_at_ms": { "type": "integer" } } },
            "SwapPage": { "type": "object", "required": ["swaps", "next_before"], "properties": {
                "swaps": { "type": "array", "items": { "$ref": "#/components/schemas/Swap" } },
                "next_before": { "anyOf": [reference_schema(), { "type": "null" }] } } }
        }),
    )
}
