//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};
use solstice_kit::openapi::{address_schema, body, error, service_document, signed_parameters, token_schema};

pub fn document() -> Value {
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
            } }
        }),
        json!({
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
