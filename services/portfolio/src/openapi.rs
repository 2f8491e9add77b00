//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};
use solstice_kit::openapi::{
    address_schema, body, error, reference_schema, service_document, signed_parameters, signed_parameters_and,
    token_schema,
};

pub fn document() -> Value {
    let with = signed_parameters_and;
    let kinds = json!(["airdrop", "received", "sent", "swap", "stake", "unstake", "withdraw", "reward"]);
    let day = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "A day, UTC: YYYY-MM-DD." });
    let token_amount = json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/TokenAmount" }] });
    service_document(
        "Solstice portfolio service",
        env!("CARGO_PKG_VERSION"),
        "A wallet's holdings valued at live prices. Read-only. Called by the Solstice host with signed requests.",
        json!({
            "/v1/portfolio": { "get": {
                "summary": "The calling wallet's portfolio.",
                "description": "Every token the wallet holds, valued at the live price, largest first, with the total and 24-hour changes.",
                "parameters": signed_parameters(),
                "responses": {
                    "200": body("The portfolio.", "Portfolio"),
                    "401": error("Missing or invalid service credentials."),
                    "500": error("A fault of ours."),
                    "503": error("Prices or the database are unavailable.")
                }
            } },
            "/v1/portfolio/history": { "get": {
                "summary": "The calling wallet's value over time, and what each holding cost.",
                "description": "The total value (staked SOL included) at regular moments over the range, rebuilt from the ledger and the stored prices, ending now at the live prices; with each holding's average cost and unrealised profit or loss.",
                "parameters": with(json!([
                    { "name": "range", "in": "query", "required": false, "schema": { "type": "string", "enum": ["24h", "7d", "30d", "all"] } }
                ])),
                "responses": {
                    "200": body("The value history.", "ValueHistory"),
                    "400": error("An unknown range."),
                    "401": error("Missing or invalid service credentials."),
                    "500": error("A fault of ours."),
                    "503": error("The database is unavailable.")
                }
            } },
            "/v1/activity": { "get": {
                "summary": "The calling wallet's activity, newest first.",
                "description": "Every movement of the wallet's money (the sign-up airdrop, transfers in and out, swaps, stakes, unstakes, withdrawals and each staking reward), one row each, valued in USD at the price of its moment.",
                "parameters": with(json!([
                    { "name": "kind", "in": "query", "required": false, "schema": { "type": "string", "enum": kinds } },
                    { "name": "token", "in": "query", "required": false, "schema": token_schema(), "description": "Only rows that move this token." },
                    { "name": "from", "in": "query", "required": false, "schema": day, "description": "From this day (UTC), included." },
                    { "name": "to", "in": "query", "required": false, "schema": day, "description": "Up to this day (UTC), included." },
                    { "name": "before", "in": "query", "required": false, "schema": reference_schema(), "description": "The next_before of the previous page." },
                    { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000 }, "description": "Rows per page (20 unless asked)." }
                ])),
                "responses": {
                    "200": body("A page of activity.", "ActivityPage"),
                    "400": error("An unknown kind or token, a date that is not a day, from after to, an invalid cursor or limit."),
                    "401": error("Missing or invalid service credentials."),
                    "500": error("A fault of ours."),
                    "503": error("The database is unavailable.")
                }
            } },
            "/v1/activity/{reference}": { "get": {
                "summary": "One row of the calling wallet's activity.",
                "parameters": with(json!([{ "name": "reference", "in": "path", "required": true, "schema": reference_schema() }])),
                "responses": {
                    "200": body("The row.", "ActivityRow"),
                    "400": error("Not a reference number."),
                    "401": error("Missing or invalid service credentials."),
                    "404": error("The wallet's activity has no row with this reference."),
                    "500": error("A fault of ours."),
                    "503": error("The database is unavailable.")
                }
            } }
        }),
        json!({
            "ValuePoint": { "type": "object", "required": ["at_ms", "value"], "properties": {
                "at_ms": { "type": "integer", "description": "Unix milliseconds." },
                "value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." } } },
            "TokenCost": { "type": "object", "required": ["token", "amount", "cost", "value", "pnl", "pnl_bps"], "properties": {
                "token": token_schema(),
                "amount": { "type": "integer", "minimum": 0, "description": "Held now, in base units (SOL: staked included)." },
                "cost": { "type": ["integer", "null"], "minimum": 0, "description": "Average cost of the amount held, in picodollars; null when an acquisition is older than the prices kept." },
                "value": { "type": "integer", "minimum": 0, "description": "Value at the live price, in picodollars." },
                "pnl": { "type": ["integer", "null"], "description": "Unrealised profit (positive) or loss, in picodollars." },
                "pnl_bps": { "type": ["integer", "null"], "description": "The same against the cost, in basis points." } } },
            "ValueHistory": { "type": "object", "required": ["range", "points", "change", "change_bps", "tokens"], "properties": {
                "range": { "type": "string", "enum": ["24h", "7d", "30d", "all"] },
                "points": { "type": "array", "items": { "$ref": "#/components/schemas/ValuePoint" }, "description": "Oldest first; the last is now." },
                "change": { "type": ["integer", "null"], "description": "From the first point to the last, in picodollars." },
                "change_bps": { "type": ["integer", "null"] },
                "tokens": { "type": "array", "items": { "$ref": "#/components/schemas/TokenCost" } } } },
            "TokenAmount": { "type": "object", "required": ["token", "amount"], "properties": {
                "token": token_schema(),
                "amount": { "type": "integer", "minimum": 0, "description": "Base units of the token." } } },
            "ActivityRow": { "type": "object",
                "required": ["reference", "kind", "at_ms", "sent", "received", "fee", "staked_change", "usd_value", "counterparty", "stake_account", "note"],
                "properties": {
                    "reference": reference_schema(),
                    "kind": { "type": "string", "enum": kinds },
                    "at_ms": { "type": "integer", "description": "When, Unix milliseconds." },
                    "sent": token_amount.clone(),
                    "received": token_amount.clone(),
                    "fee": token_amount,
                    "staked_change": { "type": "integer", "description": "Lamports into (positive) or out of (negative) the wallet's stake accounts." },
                    "usd_value": { "type": ["integer", "null"], "minimum": 0, "description": "USD value at the time, in picodollars; null when no price of that moment is kept." },
                    "counterparty": { "oneOf": [{ "type": "null" }, address_schema()] },
                    "stake_account": { "type": ["string", "null"] },
                    "note": { "type": ["string", "null"], "description": "A transfer's memo, a reward's epoch." } } },
            "ActivityPage": { "type": "object", "required": ["rows", "next_before"], "properties": {
                "rows": { "type": "array", "items": { "$ref": "#/components/schemas/ActivityRow" } },
                "next_before": { "oneOf": [{ "type": "null" }, reference_schema()] } } },
            "Holding": { "type": "object",
                "required": ["token", "amount", "price", "value", "change_24h_bps", "share_bps"],
                "properties": {
                    "token": token_schema(),
                    "amount": { "type": "integer", "minimum": 0, "description": "Base units of the token (lamports for SOL)." },
                    "price": { "type": "integer", "minimum": 0, "description": "USD per whole token, in picodollars (1e-12 USD)." },
                    "value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." },
                    "change_24h_bps": { "type": ["integer", "null"], "description": "Price change over 24 hours in basis points." },
                    "share_bps": { "type": "integer", "minimum": 0, "maximum": 10000, "description": "Share of the total value in basis points." } } },
            "Portfolio": { "type": "object",
                "required": ["wallet", "holdings", "total_value", "change_24h_bps", "staked", "priced_at_ms", "prices_stale"],
                "properties": {
                    "wallet": address_schema(),
                    "holdings": { "type": "array", "items": { "$ref": "#/components/schemas/Holding" } },
                    "total_value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." },
                    "change_24h_bps": { "type": ["integer", "null"] },
                    "staked": { "$ref": "#/components/schemas/Staked" },
                    "priced_at_ms": { "type": "integer", "description": "When prices were taken, Unix milliseconds (the oldest, when they differ)." },
                    "prices_stale": { "type": "boolean", "description": "The prices are older than the freshness bound: values are as of priced_at_ms." } } },
            "Staked": { "type": "object", "required": ["amount", "rewards", "value", "share_bps"],
                "description": "SOL in the wallet's stake accounts, valued at the SOL price.",
                "properties": {
                    "amount": { "type": "integer", "minimum": 0, "description": "Lamports staked, rewards included." },
                    "rewards": { "type": "integer", "minimum": 0, "description": "Lamports earned as rewards." },
                    "value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." },
                    "share_bps": { "type": "integer", "minimum": 0, "maximum": 10000, "description": "Share of the total value in basis points." } } }
        }),
    )
}
