"""Webhook signatures (pure): HMAC-SHA256 over "<timestamp>.<body>".

A receiver recomputes the HMAC with the shared secret, compares in constant time and
rejects stale timestamps, so a captured request cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def headers(secret: str, timestamp: int, body: bytes, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Tandem-Timestamp": str(timestamp),
        "X-Tandem-Signature": signature(secret, timestamp, body),
        "X-Tandem-Delivery": delivery_id,
    }
