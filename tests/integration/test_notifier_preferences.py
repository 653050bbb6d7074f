"""Subscriptions and preferences over HTTP against PostgreSQL: each staff member's own,
validated, with 4xx (never 500) for anything wrong."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tandem_notifier.app import create_app
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.tables import directory
from tandem_shared.auth import Role
from tandem_shared.db import create_engine
from tests.support import bearer, running, service_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[tuple[httpx.AsyncClient, NotifierSettings]]:
    settings = service_settings(
        NotifierSettings, database_url=clean_databases["notifier"], kafka=kafka, prefix=topic_prefix
    )
    async with running(create_app(settings)) as client:
        yield client, settings


async def _known_profile(url: str, hub: str, sharing: str) -> str:
    profile_id = uuid.uuid4()
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            directory.insert().values(
                id=profile_id,
                hub=hub,
                name="Muzeum",
                kind="heritage",
                country="PL",
                sharing=sharing,
                version=1,
                updated_at=datetime.now(UTC),
            )
        )
    await engine.dispose()
    return str(profile_id)


async def test_subscriptions_are_replaced_and_read_back_per_staff_member(
    api: tuple[httpx.AsyncClient, NotifierSettings], clean_databases: dict[str, str]
) -> None:
    client, settings = api
    staff = bearer(settings)
    assert (await client.get("/v1/subscriptions", headers=staff)).json() == {"items": []}
    shared = await _known_profile(clean_databases["notifier"], "other", "network")
    items = [
        {"scope": "hub", "hub": "demo"},
        {"scope": "sector", "kind": "creative", "subsector": "ar_vr"},
        {"scope": "profile", "profile_id": shared},
    ]
    response = await client.put("/v1/subscriptions", json={"items": items}, headers=staff)
    assert response.status_code == 200, response.text
    stored = (await client.get("/v1/subscriptions", headers=staff)).json()["items"]
    assert {item["scope"] for item in stored} == {"hub", "sector", "profile"}
    admin = bearer(settings, role=Role.HUB_ADMIN)
    assert (await client.get("/v1/subscriptions", headers=admin)).json() == {"items": []}
    emptied = await client.put("/v1/subscriptions", json={"items": []}, headers=staff)
    assert emptied.json() == {"items": []}


async def test_subscriptions_beyond_the_callers_reach_are_refused(
    api: tuple[httpx.AsyncClient, NotifierSettings], clean_databases: dict[str, str]
) -> None:
    client, settings = api
    staff = bearer(settings)
    hidden = await _known_profile(clean_databases["notifier"], "other", "hub")
    cases = [
        ({"scope": "hub", "hub": "other"}, 403, "own hub"),
        ({"scope": "network"}, 403, "network_admin"),
        ({"scope": "profile", "profile_id": hidden}, 422, "not visible"),
        ({"scope": "profile", "profile_id": str(uuid.uuid4())}, 422, "unknown"),
        ({"scope": "sector", "kind": "bakery"}, 422, "kind"),
    ]
    for item, code, words in cases:
        response = await client.put("/v1/subscriptions", json={"items": [item]}, headers=staff)
        assert response.status_code == code, (item, response.text)
        assert words in response.text
        if code == 422:  # FastAPI's validation shape, whoever refused
            assert response.json()["detail"][0]["loc"][:2] == ["body", "items"]
    network = bearer(settings, role=Role.NETWORK_ADMIN)
    allowed = [{"scope": "network"}, {"scope": "hub", "hub": "other"}]
    response = await client.put("/v1/subscriptions", json={"items": allowed}, headers=network)
    assert response.status_code == 200, response.text
    assert (await client.get("/v1/subscriptions")).status_code == 401
    assert (await client.put("/v1/subscriptions", content=b"{", headers=staff)).status_code == 422


async def test_preferences_default_then_replace_and_validate(
    api: tuple[httpx.AsyncClient, NotifierSettings],
) -> None:
    client, settings = api
    staff = bearer(settings)
    defaults = (await client.get("/v1/preferences", headers=staff)).json()
    assert defaults["channels"] == ["feed"] and defaults["language"] == "en"
    wanted = {
        "channels": ["feed", "email"],
        "delivery": "daily_digest",
        "language": "pl",
        "daily_cap": 10,
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00", "timezone": "Europe/Warsaw"},
    }
    response = await client.put("/v1/preferences", json=wanted, headers=staff)
    assert response.status_code == 200, response.text
    assert (await client.get("/v1/preferences", headers=staff)).json() == wanted
    bad = {**wanted, "language": "fr", "daily_cap": -1}
    refused = await client.put("/v1/preferences", json=bad, headers=staff)
    assert refused.status_code == 422
    assert {error["loc"][-1] for error in refused.json()["detail"]} == {"language", "daily_cap"}
    assert (await client.get("/v1/preferences", headers=staff)).json() == wanted
    assert (await client.get("/v1/preferences")).status_code == 401


async def test_concurrent_replaces_never_fail(
    api: tuple[httpx.AsyncClient, NotifierSettings],
) -> None:
    client, settings = api
    staff = bearer(settings)
    languages = ["en", "pl", "de", "sl"] * 3
    items = {"items": [{"scope": "hub", "hub": "demo"}, {"scope": "sector", "kind": "creative"}]}
    responses = await asyncio.gather(
        *(client.put("/v1/preferences", json={"language": x}, headers=staff) for x in languages),
        *(client.put("/v1/subscriptions", json=items, headers=staff) for _ in languages),
    )
    assert [r.status_code for r in responses] == [200] * len(responses)
    stored = (await client.get("/v1/subscriptions", headers=staff)).json()
    assert len(stored["items"]) == 2
