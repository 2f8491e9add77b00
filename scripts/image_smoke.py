#!/usr/bin/env python3
"""A smoke test of a running platform, through its host only, as a browser would use it.

Usage: image_smoke.py BASE_URL   (e.g. http://127.0.0.1:3000)

Signs two wallets up, sends SOL from one to the other, swaps SOL for USDC, and reads a price
tick from the live-price websocket. Exits non-zero, saying what went wrong, when any step
fails or its result is not what a user would see. Standard library only: scripts/check-images
runs it against the platform started from the images.
"""

import base64
import http.cookiejar
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from decimal import Decimal

PASSWORD = "smoke-test-password-1"
LAMPORTS_PER_SOL = Decimal(1_000_000_000)


class Browser:
    """One visitor: its own cookies."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, function, **form):
        request = urllib.request.Request(
            f"{self.base}/api/{function}", data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            fail(f"{function}: HTTP {error.code}: {error.read().decode(errors='replace')[:300]}")

    def sol(self):
        """The wallet's SOL balance (the host answers in lamports)."""
        return Decimal(self.call("current_user")["sol_balance"]) / LAMPORTS_PER_SOL


def fail(message):
    print(f"smoke test: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"    ok: {message}")


def first_price_tick(base, timeout=30):
    """Opens /ws/prices and returns the first tick that carries prices (a JSON object)."""
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port or 80
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(
        (
            f"GET /ws/prices HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {base}\r\n\r\n"
        ).encode()
    )
    reader = sock.makefile("rb")
    status = reader.readline().decode()
    if " 101 " not in status:
        fail(f"/ws/prices answered {status.strip()!r} instead of switching protocols")
    while reader.readline() not in (b"\r\n", b""):
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = reader.read(2)
        if len(head) < 2:
            fail("/ws/prices closed before sending prices")
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(reader.read(2), "big")
        elif length == 127:
            length = int.from_bytes(reader.read(8), "big")
        payload = reader.read(length)
        if opcode == 1:
            message = json.loads(payload)
            if message.get("prices"):
                sock.close()
                return message
        elif opcode == 8:
            fail("/ws/prices closed before sending prices")
    fail(f"no prices on /ws/prices within {timeout} s")


def main():
    base = sys.argv[1].rstrip("/")
    alice, bob = Browser(base), Browser(base)
    for who in (alice, bob):
        signed_up = who.call("sign_up", password=PASSWORD, confirm_password=PASSWORD, initial_sol="10")
        who.address = signed_up["address"]
    check(alice.sol() == 10 and bob.sol() == 10, "two wallets signed up, 10 SOL each")

    sent = alice.call(
        "send_transfer", to=bob.address, token="SOL", amount="1.5", memo="", idempotency_key=str(uuid.uuid4())
    )
    check(str(sent.get("reference", "")).startswith("TRF-"), f"transfer sent: {sent.get('reference')}")
    check(alice.sol() == Decimal("8.5") and bob.sol() == Decimal("11.5"), "1.5 SOL moved from one wallet to the other")

    tick = first_price_tick(base)
    symbols = {price["token"] for price in tick["prices"]}
    check("SOL" in symbols and "USDC" in symbols, f"live prices on the websocket: tick {tick['seq']}, {len(symbols)} tokens")

    quote = alice.call("swap_quote", **{"from": "SOL", "to": "USDC", "amount": "1", "side": "exact_in", "slippage_bps": "100"})
    swap = alice.call("execute_swap", quote_id=quote["id"], idempotency_key=str(uuid.uuid4()))
    check(str(swap.get("reference", "")).startswith("SWP-"), f"swap executed: {swap.get('reference')}")
    check(alice.sol() == Decimal("7.5"), "the swap took 1 SOL")
    history = alice.call("my_swaps")
    check(any(s["reference"] == swap["reference"] for s in history["swaps"]), "the swap is in the wallet's history")
    print("smoke test: passed")


if __name__ == "__main__":
    main()
