"""Schemathesis hooks for scripts/fuzz: sign every request as the services expect.

Loaded with SCHEMATHESIS_HOOKS=scripts/fuzz_hooks.py. Reads:

  SOLSTICE_SIGNING_KEY      the host's signing key (64 hex digits, an Ed25519 seed): the
                            fuzzer signs as the host, the only caller the services trust
  SOLSTICE_FUZZ_WALLET      the wallet the fuzzer acts as (a funded user, made by scripts/fuzz)
  SOLSTICE_FUZZ_EXAMPLES    optional JSON file of real values (a recipient, references, stake
                            accounts) added to the schema as examples

The services authenticate a request with five headers (services/kit/src/auth.rs):

  x-solstice-wallet     the acting wallet
  x-solstice-timestamp  Unix milliseconds
  x-solstice-caller     "host"
  x-solstice-nonce      32 fresh hex digits (a request that changes something is accepted once)
  x-solstice-signature  hex Ed25519 signature (the host's key) of
                            method "\n" path[?query] "\n" wallet "\n" timestamp "\n" caller "\n"
                            nonce "\n" SHA-256(body)

The signature must cover the bytes that go on the wire, so it is computed by a `requests`
auth callable: requests runs it on the prepared request, after the URL is encoded and the
body serialised, and sends exactly that request line and body.

The five headers are documented as required parameters. Left in the schema, Schemathesis
would generate values for them, drop them and mutate them (missing_required_header, negative
data) while this hook overwrites them with valid ones, and report false failures. So they are
taken out of the schema here and the hook owns them; the 401 path is covered by auth.rs's tests.
"""

import hashlib
import json
import os
import secrets
import time

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SIGNED_HEADERS = {
    "x-solstice-wallet", "x-solstice-timestamp", "x-solstice-caller", "x-solstice-nonce", "x-solstice-signature",
}
CALLER = "host"


class SolsticeSignature(requests.auth.AuthBase):
    """Adds the service credentials of `wallet` to a prepared request."""

    def __init__(self, signing_key: str, wallet: str) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signing_key))
        self.wallet = wallet

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            # Send (and sign) the text as UTF-8 bytes rather than let the HTTP stack pick an encoding.
            body = body.encode("utf-8")
            request.body = body
            request.headers["Content-Length"] = str(len(body))
        elif not isinstance(body, bytes):
            # A stream (multipart, generator): read it once, send those bytes.
            body = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in body)
            request.body = body
            request.headers["Content-Length"] = str(len(body))
            request.headers.pop("Transfer-Encoding", None)
        # `path_url` is what requests writes in the request line: the encoded path, plus
        # "?query" when there is one. axum's `uri.path_and_query()` sees the same text.
        path = request.path_url
        timestamp = str(int(time.time() * 1000))
        nonce = secrets.token_hex(16)
        message = b"".join(
            part.encode("utf-8") + b"\n" for part in (request.method.upper(), path, self.wallet, timestamp, CALLER, nonce)
        )
        signature = self.key.sign(message + hashlib.sha256(body).digest())
        for name in list(request.headers):
            if name.lower() in SIGNED_HEADERS:
                del request.headers[name]
        request.headers["x-solstice-wallet"] = self.wallet
        request.headers["x-solstice-timestamp"] = timestamp
        request.headers["x-solstice-caller"] = CALLER
        request.headers["x-solstice-nonce"] = nonce
        request.headers["x-solstice-signature"] = signature.hex()
        return request


_SIGNER = None


def signer() -> SolsticeSignature:
    global _SIGNER
    if _SIGNER is None:
        _SIGNER = SolsticeSignature(os.environ["SOLSTICE_SIGNING_KEY"], os.environ["SOLSTICE_FUZZ_WALLET"])
    return _SIGNER


def _load_examples() -> dict:
    path = os.environ.get("SOLSTICE_FUZZ_EXAMPLES")
    if not path:
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


EXAMPLES = _load_examples()

# Realistic values for body properties, by schema name and property, so that the examples and
# coverage phases also reach the paths past validation (201, 409, 422), not only the 400s.
BODY_EXAMPLES = {
    "SendTransfer": {
        "to": lambda e: [e["recipient"]] if e.get("recipient") else [],
        "token": lambda e: ["SOL", "usdc"],
        "amount": lambda e: ["0.001", "1"],
        "memo": lambda e: ["rent"],
    },
    "QuoteRequest": {
        "from": lambda e: ["SOL"],
        "to": lambda e: ["USDC", "BONK"],
        "amount": lambda e: ["0.01", "2"],
        "slippage_bps": lambda e: [50],
    },
    "ExecuteSwap": {"quote_id": lambda e: e.get("quotes", [])},
    "StakeRequest": {
        "validator": lambda e: ["solstice", "meridian"],
        "amount": lambda e: ["1", "0.5"],
    },
    # The public API's bodies.
    "TransferBody": {
        "to": lambda e: [e["recipient"]] if e.get("recipient") else [],
        "token": lambda e: ["SOL", "usdc"],
        "amount": lambda e: ["0.001", "1"],
        "memo": lambda e: ["rent"],
    },
    "SwapBody": {"quote_id": lambda e: e.get("quotes", [])},
    "StakeBody": {
        "validator": lambda e: ["solstice", "meridian"],
        "amount": lambda e: ["1", "0.5"],
    },
}

# Realistic values for path parameters, by parameter name.
PATH_EXAMPLES = {
    "reference": lambda e: e.get("references", []),
    "address": lambda e: e.get("stake_accounts", []) + ([e["recipient"]] if e.get("recipient") else []),
    "account": lambda e: e.get("stake_accounts", []),
}


@schemathesis.hook
def before_load_schema(context, raw_schema):
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            parameters = [
                parameter
                for parameter in operation.get("parameters", [])
                if not (parameter.get("in") == "header" and parameter.get("name", "").lower() in SIGNED_HEADERS)
            ]
            for parameter in parameters:
                make = PATH_EXAMPLES.get(parameter.get("name")) if parameter.get("in") == "path" else None
                values = make(EXAMPLES) if make else []
                if values:
                    parameter["examples"] = {f"real{i}": {"value": value} for i, value in enumerate(values)}
            operation["parameters"] = parameters
    schemas = raw_schema.get("components", {}).get("schemas", {})
    for name, properties in BODY_EXAMPLES.items():
        schema = schemas.get(name)
        if not schema:
            continue
        for prop, make in properties.items():
            values = make(EXAMPLES)
            if values and prop in schema.get("properties", {}):
                schema["properties"][prop]["examples"] = values


@schemathesis.hook
def before_call(context, case, kwargs):
    # The host's public API takes the API key Schemathesis sends (--header); the services take
    # the host's signature.
    if os.environ.get("SOLSTICE_FUZZ_TARGET") == "public":
        return
    kwargs["auth"] = signer()
