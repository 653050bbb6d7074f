"""A service waits out its database instead of exiting, and says why it is not ready:
a test service (the notifier's schema, a consumer with a non-idempotent effect) whose
PostgreSQL connections all go through a TCP proxy the test cuts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tandem_shared.contracts import PROFILES
from tandem_shared.runtime import DbSession, create_service_app
from tandem_shared.settings import ServiceSettings
from tandem_tools.pg import create_database, database_url, drop_database
from tandem_tools.tcp_proxy import TcpProxy
from tests.support import eventually, produce, running, service_settings
from tests.support.bus import (
    effect_counts,
    effects_spec,
    profile_message,
    reset_effects,
)

pytestmark = pytest.mark.integration

router = APIRouter()


@router.get("/v1/count")
async def count(session: DbSession) -> dict[str, int]:
    return {"rows": (await session.execute(text("SELECT count(*) FROM inbox"))).scalar_one()}


@pytest.fixture
async def fresh_database(pg_server: str) -> AsyncIterator[str]:
    """A database nothing has migrated yet."""
    name = f"tandem_test_{uuid.uuid4().hex[:8]}_probe"
    await create_database(pg_server, name, if_missing=False)
    yield database_url(pg_server, name)
    await drop_database(pg_server, name)


@pytest.fixture
def proxy(fresh_database: str) -> Iterator[TcpProxy]:
    url = make_url(fresh_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield proxy
    proxy.stop()


async def _readiness(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await _readiness(client))[0] == 200


async def test_start_up_waits_for_the_database_then_an_outage_is_reported_not_fatal(
    fresh_database: str, proxy: TcpProxy, kafka: Any, topic_prefix: str
) -> None:
    proxied = make_url(fresh_database).set(port=proxy.port).render_as_string(hide_password=False)
    settings = service_settings(
        ServiceSettings,
        database_url=proxied,
        kafka=kafka,
        prefix=topic_prefix,
        auto_migrate=True,
    )
    await reset_effects(fresh_database)
    proxy.cut()  # the database is down when the service starts
    app = create_service_app(effects_spec(settings, [router]), settings)
    async with running(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        status, body = await _readiness(client)
        assert status == 503
        assert "migrating the database" in body["reasons"]["consumers"]
        refused = await client.get("/v1/count")
        assert refused.status_code == 503
        assert "not ready yet" in refused.json()["detail"]
        assert refused.headers["Retry-After"] == "5"

        proxy.restore()
        await eventually(lambda: _ready(client), timeout=60, what="ready once the database is up")
        assert (await client.get("/v1/count")).json() == {"rows": 0}

        proxy.cut()  # an outage while running: reported, requests get 503, nothing exits
        message = profile_message(1)
        await produce(
            kafka.bootstrap,
            settings.topic(PROFILES.name),
            [(b"k", message.model_dump_json().encode())],
        )
        status, body = await eventually(
            lambda: _held_back(client), timeout=30, what="the consumer to report the outage"
        )
        assert body["checks"]["database"] is False
        assert "database unavailable" in body["reasons"]["consumers"]
        scraped = (await client.get("/metrics")).text
        assert 'tandem_ready{check="database",service="probe"} 0.0' in scraped
        assert "tandem_consumer_held_partitions{group=" in scraped
        during = await client.get("/v1/count")
        assert during.status_code == 503, during.text

        proxy.restore()
        await eventually(lambda: _ready(client), timeout=60, what="ready after the outage")
    assert await effect_counts(fresh_database) == (1, 1)


async def _held_back(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]] | None:
    status, body = await _readiness(client)
    if "held back" in body.get("reasons", {}).get("consumers", ""):
        return status, body
    return None
