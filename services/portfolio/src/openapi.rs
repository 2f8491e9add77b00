//! The service's OpenAPI 3.1 document, served at `/openapi.json` and rendered at `/docs`.

use serde_json::{Value, json};

pub fn document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let signed = json!([
        { "name": "x-solstice-wallet", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "The acting wallet's address." },
        { "name": "x-solstice-timestamp", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "Unix milliseconds; must be within 30 s of the service's clock." },
        { "name": "x-solstice-signature", "in": "header", "required": true, "schema": { "type": "string" },
          "description": "Hex HMAC-SHA256, with the internal secret, of method, path, wallet, timestamp and body hash." }
    ]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Solstice portfolio service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A wallet's holdings valued at live prices. Read-only. Called by the Solstice host with signed requests."
        },
        "paths": {
            "/v1/portfolio": { "get": {
                "summary": "The calling wallet's portfolio.",
                "description": "Every token the wallet holds, valued at the live price, largest first, with the total and 24-hour changes.",
                "parameters": signed,
                "responses": {
                    "200": { "description": "The portfolio.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Portfolio" } } } },
                    "401": { "description": "Missing or invalid service credentials.", "content": { "application/json": { "schema": error } } },
                    "500": { "description": "A fault of ours.", "content": { "application/json": { "schema": error } } },
                    "503": { "description": "Prices or the database are unavailable.", "content": { "application/json": { "schema": error } } }
                }
            } },
            "/healthz": { "get": { "summary": "Alive.", "responses": { "200": { "description": "The process is running." } } } },
            "/readyz": { "get": { "summary": "Ready.", "responses": {
                "200": { "description": "The database answers." }, "503": { "description": "The database is unreachable." } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics.", "responses": { "200": { "description": "Metrics in text format." } } } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "description": "Stable machine-readable code, e.g. unauthorized." },
                "message": { "type": "string", "description": "A sentence for people." } } },
            "Holding": { "type": "object",
                "required": ["token", "amount", "price", "value", "change_24h_bps", "share_bps"],
                "properties": {
                    "token": { "type": "string", "enum": ["SOL", "USDC", "USDT", "JUP", "BONK", "RAY", "JTO"] },
                    "amount": { "type": "integer", "minimum": 0, "description": "Base units of the token (lamports for SOL)." },
                    "price": { "type": "integer", "minimum": 0, "description": "USD per whole token, in picodollars (1e-12 USD)." },
                    "value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." },
                    "change_24h_bps": { "type": ["integer", "null"], "description": "Price change over 24 hours in basis points." },
                    "share_bps": { "type": "integer", "minimum": 0, "maximum": 10000, "description": "Share of the total value in basis points." } } },
            "Portfolio": { "type": "object",
                "required": ["wallet", "holdings", "total_value", "change_24h_bps", "priced_at_ms"],
                "properties": {
                    "wallet": { "type": "string" },
                    "holdings": { "type": "array", "items": { "$ref": "#/components/schemas/Holding" } },
                    "total_value": { "type": "integer", "minimum": 0, "description": "USD value in picodollars." },
                    "change_24h_bps": { "type": ["integer", "null"] },
                    "priced_at_ms": { "type": "integer", "description": "When prices were taken, Unix milliseconds." } } }
        } }
    })
}
