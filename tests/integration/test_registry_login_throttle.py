"""Login attempts are limited per account (and per client address) with backoff: after
five wrong passwords the token endpoint answers 429 with Retry-After, even to the right
password, until the wait is over."""

from __future__ import annotations

import pytest

from tests.support.registry import Registry

pytestmark = pytest.mark.integration


async def test_repeated_wrong_passwords_get_429_with_retry_after(registry: Registry) -> None:
    client = registry.client
    form = {"username": "admin@demo.local", "password": "not-the-password"}
    for _ in range(5):
        assert (await client.post("/v1/auth/token", data=form)).status_code == 401
    refused = await client.post("/v1/auth/token", data=form)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "too many failed attempts" in refused.json()["detail"]
    right = {"username": "ADMIN@demo.local", "password": "tandem-dev"}
    assert (await client.post("/v1/auth/token", data=right)).status_code == 429
    other = {"username": "nobody@demo.local", "password": "x"}
    assert (await client.post("/v1/auth/token", data=other)).status_code == 401
