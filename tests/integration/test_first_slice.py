"""The first slice in process: registry → profiles topic → matcher → matches topic → notifier
feed, over the real broker and PostgreSQL, each service with its own database."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tandem_matcher.app import create_app as create_matcher
from tandem_matcher.settings import MatcherSettings
from tandem_notifier.app import create_app as create_notifier
from tandem_notifier.settings import NotifierSettings
from tandem_registry.app import create_app as create_registry
from tandem_registry.settings import RegistrySettings
from tandem_shared.contracts import MATCHES, PROFILES, parse_message
from tandem_shared.identity.issuers import TrustedIssuer
from tests.support import (
    TEST_ISSUER,
    complementary_profiles,
    eventually,
    login,
    read_topic,
    running,
    service_settings,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def slice_clients(clean_databases: dict[str, str], kafka: Any, topic_prefix: str) -> Any:
    def settings(cls: Any, name: str, **overrides: Any) -> Any:
        return service_settings(
            cls, database_url=clean_databases[name], kafka=kafka, prefix=topic_prefix, **overrides
        )

    async with AsyncExitStack() as stack:
        registry_app = create_registry(settings(RegistrySettings, "registry"))
        registry = await stack.enter_async_context(running(registry_app))
        # The matcher and notifier trust the registry's tokens, with its published keys.
        trusted = [TEST_ISSUER, registry_issuer(registry_app)]
        matcher = await stack.enter_async_context(
            running(create_matcher(settings(MatcherSettings, "matcher", trusted_issuers=trusted)))
        )
        notifier = await stack.enter_async_context(
            running(
                create_notifier(settings(NotifierSettings, "notifier", trusted_issuers=trusted))
            )
        )
        yield {
            "registry": registry,
            "matcher": matcher,
            "notifier": notifier,
            "auth": await login(registry),
            "kafka": kafka,
            "prefix": topic_prefix,
        }


def registry_issuer(app: FastAPI) -> TrustedIssuer:
    runtime = app.state.runtime
    jwks = runtime.state["key_ring"].jwks()
    return TrustedIssuer(issuer=runtime.settings.issuer, hubs=["*"], network=True, jwks=jwks)


async def _feed(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/notifications", headers=auth)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_two_complementary_profiles_produce_an_explained_notification(
    slice_clients: dict[str, Any],
) -> None:
    clients = slice_clients
    museum, studio = complementary_profiles()
    created = []
    for profile in (museum, studio):
        response = await clients["registry"].post(
            "/v1/profiles", json=profile, headers=clients["auth"]
        )
        assert response.status_code == 201, response.text
        created.append(response.json())

    async def feed() -> list[dict[str, Any]]:
        return await _feed(clients["notifier"], clients["auth"])

    items = await eventually(feed, what="a notification in the feed")
    assert len(items) == 1
    note = items[0]
    assert note["kind"] == "match.suggested"
    assert {note["data"]["profile_a"], note["data"]["profile_b"]} == {p["id"] for p in created}
    assert "Muzeum" in note["title"] and "Scanwerk" in note["title"]
    explanation = note["data"]["explanation"]
    needs = {explanation["a_needs_b_offers"]["need"], explanation["b_needs_a_offers"]["need"]}
    assert museum["needs"][0]["text"] in needs

    matches = await clients["matcher"].get(
        f"/v1/profiles/{created[0]['id']}/matches", headers=clients["auth"]
    )
    assert matches.status_code == 200
    assert [m["profile_id"] for m in matches.json()["matches"]] == [created[1]["id"]]


async def test_profile_message_carries_the_request_trace_id_and_no_contact(
    slice_clients: dict[str, Any],
) -> None:
    clients = slice_clients
    museum, _ = complementary_profiles()
    museum["contact"] = {"name": "Anna Nowak", "email": "anna@example.org"}
    trace = "0af7651916cd43dd8448eb211c80319c"
    headers = {**clients["auth"], "traceparent": f"00-{trace}-b7ad6b7169203331-01"}
    response = await clients["registry"].post("/v1/profiles", json=museum, headers=headers)
    assert response.status_code == 201
    assert response.headers["x-trace-id"] == trace
    records = await read_topic(
        clients["kafka"].bootstrap, clients["prefix"] + PROFILES.topic("demo"), expect=1
    )
    message = parse_message(records[0].value)
    assert message.trace_id == trace
    assert dict(records[0].headers)["trace_id"].decode() == trace
    assert b"anna@example.org" not in records[0].value, (
        "contact details must not travel on the topic"
    )


async def test_rejected_profile_changes_nothing(slice_clients: dict[str, Any]) -> None:
    clients = slice_clients
    museum, _ = complementary_profiles()
    bad = {**museum, "country": "Poland", "surprise": True}
    response = await clients["registry"].post("/v1/profiles", json=bad, headers=clients["auth"])
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "country") in fields and ("body", "surprise") in fields
    unauthenticated = await clients["registry"].post("/v1/profiles", json=museum)
    assert unauthenticated.status_code == 401
    good = await clients["registry"].post("/v1/profiles", json=museum, headers=clients["auth"])
    assert good.status_code == 201
    records = await read_topic(
        clients["kafka"].bootstrap, clients["prefix"] + PROFILES.topic("demo"), expect=2, timeout=5
    )
    assert [parse_message(r.value).subject for r in records] == [good.json()["id"]]
    assert (
        await read_topic(
            clients["kafka"].bootstrap,
            clients["prefix"] + MATCHES.topic("demo"),
            expect=1,
            timeout=2,
        )
        == []
    )


async def test_ops_endpoints_report_readiness_and_metrics(slice_clients: dict[str, Any]) -> None:
    for name in ("registry", "matcher", "notifier"):
        client = slice_clients[name]
        assert (await client.get("/healthz")).json()["status"] == "ok"

        async def ready(client: httpx.AsyncClient = client) -> dict[str, Any] | None:
            response = await client.get("/readyz")
            return response.json() if response.status_code == 200 else None

        body = await eventually(ready, what=f"{name} ready (consumer groups joined)")
        assert body["checks"] == {"database": True, "broker": True, "consumers": True}
    await slice_clients["registry"].post("/v1/profiles", json={}, headers=slice_clients["auth"])
    metrics = (await slice_clients["registry"].get("/metrics")).text
    for name in (
        'tandem_http_requests_total{method="POST",route="/v1/profiles",service="registry",status="422"}',
        "tandem_outbox_oldest_unsent_seconds",
        "tandem_consumer_lag",
        "tandem_dlq_messages_total",
    ):
        assert name in metrics, name
