"""A service trusting a registry by its JWKS URL, over real HTTP: the registry runs in a
real uvicorn server, the events service fetches its keys from /.well-known/jwks.json, and
accepts its tokens only for the hubs it trusts that registry for. A key rotation reaches the
service without restarting it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from fastapi import FastAPI

from tandem_registry.app import create_app
from tandem_registry.settings import RegistrySettings
from tandem_shared.auth import Principal, Role
from tandem_shared.broker import free_port
from tandem_shared.identity.issuers import TrustedIssuer
from tandem_shared.identity.keys import SigningKey
from tandem_shared.identity.tokens import issue_token
from tests.support import TEST_ISSUER, TEST_SIGNING_KEY, service_settings
from tests.support.events import Events, events_service
from tests.support.registry import PASSWORD, add_staff

pytestmark = pytest.mark.integration

DEV_ADMIN = ("admin@demo.local", "tandem-dev")


@asynccontextmanager
async def served_registry(
    databases: dict[str, str], kafka: Any, prefix: str, port: int, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The registry app in a real uvicorn server on `port`, and a client for its URL."""
    url = f"http://127.0.0.1:{port}"
    settings = service_settings(
        RegistrySettings,
        database_url=databases["registry"],
        kafka=kafka,
        prefix=prefix,
        issuer=url,
        **overrides,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the registry's server stopped while starting"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield app, client
    finally:
        server.should_exit = True
        await serving


async def login(registry: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await registry.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def trusting(port: int, hubs: list[str]) -> TrustedIssuer:
    """The registry on `port` as a trusted issuer for `hubs`, its keys fetched over HTTP;
    an unknown kid may refetch at once (a rotation is seen immediately)."""
    url = f"http://127.0.0.1:{port}"
    return TrustedIssuer(
        issuer=url, jwks_url=f"{url}/.well-known/jwks.json", hubs=hubs, refresh_interval_seconds=0
    )


async def status(events: Events, token: str) -> int:
    response = await events.client.get("/v1/events", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


@pytest.fixture
async def setup(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[tuple[int, dict[str, Any], Events]]:
    port = free_port()
    common = {"databases": clean_databases, "kafka": kafka, "prefix": topic_prefix}
    async with events_service(
        clean_databases, kafka, topic_prefix, trusted_issuers=[trusting(port, ["demo"])]
    ) as events:
        yield port, common, events


async def test_a_service_accepts_a_registry_token_only_for_the_hubs_it_trusts_it_for(
    setup: tuple[int, dict[str, Any], Events],
) -> None:
    port, common, events = setup
    key = SigningKey.generate()
    async with served_registry(**common, port=port, signing_key=key.pem().decode()) as served:
        app, registry = served
        await add_staff(app, hub="north", email="staff@north.example", role=Role.STAFF)
        await add_staff(app, hub="demo", email="net@demo.example", role=Role.NETWORK_ADMIN)
        published = (await registry.get("/.well-known/jwks.json")).json()
        assert [jwk["kid"] for jwk in published["keys"]] == [key.kid]
        assert not {"d", "k"} & set(published["keys"][0])  # public halves only

        demo_admin = await login(registry, *DEV_ADMIN)
        assert jwt.get_unverified_header(demo_admin)["kid"] == key.kid
        assert await status(events, demo_admin) == 200

        # The registry vouches for its north account (it verifies its own tokens) ...
        north = await login(registry, "staff@north.example")
        auth = {"Authorization": f"Bearer {north}"}
        assert (await registry.get("/v1/profiles", headers=auth)).status_code == 200
        # ... but the events service trusts this registry for hub demo only,
        assert await status(events, north) == 401
        # and not as the network's issuer.
        assert await status(events, await login(registry, "net@demo.example")) == 401

        # A forgery naming the registry and its key id, signed with another key.
        forger = SigningKey.generate()
        forged = issue_token(
            Principal(subject="eve", hub="demo", role=Role.HUB_ADMIN),
            key=SigningKey(forger.private_key, forger.algorithm, key.kid),
            issuer=str(registry.base_url).rstrip("/"),
        )
        assert await status(events, forged) == 401
        # A well-signed token of an issuer this service does not trust (the tests' own).
        foreign = Principal(subject="admin@demo.local", hub="demo", role=Role.HUB_ADMIN)
        token = issue_token(foreign, key=TEST_SIGNING_KEY, issuer=TEST_ISSUER.issuer)
        assert await status(events, token) == 401


async def test_a_key_rotation_reaches_the_service_without_a_restart(
    setup: tuple[int, dict[str, Any], Events],
) -> None:
    port, common, events = setup
    old, new = SigningKey.generate(), SigningKey.generate("ES256")
    # Before the registry answers, its tokens cannot be checked: 503 (retry), not 401.
    early = issue_token(
        Principal(subject="admin@demo.local", hub="demo", role=Role.HUB_ADMIN),
        key=old,
        issuer=f"http://127.0.0.1:{port}",
    )
    response = await events.client.get("/v1/events", headers={"Authorization": f"Bearer {early}"})
    assert (response.status_code, response.headers.get("retry-after")) == (503, "30")

    async with served_registry(**common, port=port, signing_key=old.pem().decode()) as served:
        before = await login(served[1], *DEV_ADMIN)
        assert await status(events, before) == 200  # the service caches the old key

    # The registry restarts signing with the new key and still publishing the old one.
    rotated: dict[str, Any] = {
        "signing_key": new.pem().decode(),
        "published_keys": [old.pem().decode()],
    }
    async with served_registry(**common, port=port, **rotated) as served:
        after = await login(served[1], *DEV_ADMIN)
        assert jwt.get_unverified_header(after)["kid"] == new.kid
        assert await status(events, after) == 200  # unknown kid: refetched, found
        assert await status(events, before) == 200  # tokens issued before still verify
