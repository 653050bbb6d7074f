"""The whole pipeline across processes: the four services run as separate uvicorn processes
against the real broker and PostgreSQL, exactly as `make run` starts them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tandem_events.tables import directory
from tandem_shared.broker import free_port
from tandem_shared.db import create_engine
from tandem_tools.stack import (
    SERVICES,
    ServiceProcess,
    one_hub_identity_env,
    start_service,
    stop_services,
    wait_ready,
)
from tests.support import FAST_STACK_ENV, complementary_profiles
from tests.support.channels import SmtpServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(
    clean_databases: dict[str, str],
    kafka: Any,
    topic_prefix: str,
    tmp_path: Path,
    smtp: SmtpServer,
) -> Iterator[dict[str, ServiceProcess]]:
    common = {
        "TANDEM_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TANDEM_KAFKA_IDEMPOTENCE": str(kafka.idempotence).lower(),
        "TANDEM_KAFKA_TOPIC_PREFIX": topic_prefix,
        "TANDEM_ENVIRONMENT": "dev",
        **FAST_STACK_ENV,
        # The notifier emails a local aiosmtpd server.
        "TANDEM_NOTIFIER_SMTP_HOST": "127.0.0.1",
        "TANDEM_NOTIFIER_SMTP_PORT": str(smtp.port),
        "TANDEM_NOTIFIER_DELIVERY_POLL_SECONDS": "0.2",
    }
    ports = {name: free_port() for name in SERVICES}
    registry = f"http://127.0.0.1:{ports['registry']}"
    env = {
        **common,
        **{f"TANDEM_{name.upper()}_DATABASE_URL": url for name, url in clean_databases.items()},
        **one_hub_identity_env(registry),
        "TANDEM_REGISTRY_DEV_KEY_DIR": str(tmp_path / "keys"),
    }
    processes = {
        name: start_service(name, ports[name], env, tmp_path / "logs") for name in SERVICES
    }
    try:
        wait_ready(list(processes.values()))
        processes["env"] = env  # type: ignore[assignment]
        yield processes
    finally:
        stop_services([p for name, p in processes.items() if name != "env"])


def _token(registry: ServiceProcess) -> dict[str, str]:
    response = httpx.post(
        f"{registry.url}/v1/auth/token",
        data={"username": "admin@demo.local", "password": "tandem-dev"},
        timeout=10,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _wait_for_feed(
    notifier: ServiceProcess, auth: dict[str, str], count: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = httpx.get(
            f"{notifier.url}/v1/notifications", headers=auth, timeout=5
        ).json()["items"]
        if len(items) >= count:
            return items
        time.sleep(0.1)
    raise AssertionError(f"no {count} notification(s) in the feed after {timeout}s")


def _post(
    registry: ServiceProcess, auth: dict[str, str], profile: dict[str, Any]
) -> dict[str, Any]:
    response = httpx.post(f"{registry.url}/v1/profiles", json=profile, headers=auth, timeout=10)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_profiles_posted_to_registry_reach_the_notifier_feed(
    stack: dict[str, ServiceProcess],
) -> None:
    auth = _token(stack["registry"])
    museum, studio = complementary_profiles()
    _post(stack["registry"], auth, museum)
    started = time.monotonic()
    _post(stack["registry"], auth, studio)
    items = _wait_for_feed(stack["notifier"], auth, 1, timeout=30)
    print(f"\nsecond profile → notification in the feed: {time.monotonic() - started:.2f}s")
    assert items[0]["kind"] == "match.suggested"
    assert "Scanwerk" in items[0]["title"]
    assert asyncio.run(_directory_size(stack["env"]["TANDEM_EVENTS_DATABASE_URL"])) == 2  # type: ignore[index]


def test_a_match_reaches_staff_by_email_and_the_live_stream(
    stack: dict[str, ServiceProcess], smtp: SmtpServer
) -> None:
    """Profile posted → match → an email at the SMTP server and an event on the SSE stream."""
    auth = _token(stack["registry"])  # admin@demo.local: the token subject is the address
    notifier = stack["notifier"].url
    preferences = {"channels": ["feed", "email"], "language": "de"}
    assert httpx.put(f"{notifier}/v1/preferences", json=preferences, headers=auth).is_success
    hub = {"items": [{"scope": "hub", "hub": "demo"}]}
    assert httpx.put(f"{notifier}/v1/subscriptions", json=hub, headers=auth).is_success
    museum, studio = complementary_profiles()
    event = asyncio.run(_stream_while_posting(stack, auth, [museum, studio]))
    assert event["event"] == "notification"
    assert "Scanwerk" in json.loads(event["data"])["title"]
    deadline = time.monotonic() + 30
    while not smtp.to("admin@demo.local") and time.monotonic() < deadline:
        time.sleep(0.1)
    (mail,) = smtp.to("admin@demo.local")
    assert mail["Subject"].startswith("Neuer Partnervorschlag:")
    assert "Scanwerk Studio Leipzig" in mail["Subject"]


async def _stream_while_posting(
    stack: dict[str, ServiceProcess], auth: dict[str, str], profiles: list[dict[str, Any]]
) -> dict[str, str]:
    """Open the notifier's SSE stream, post the profiles, return the first event."""
    async with (
        httpx.AsyncClient(base_url=stack["notifier"].url, timeout=60) as client,
        client.stream("GET", "/v1/notifications/stream", headers=auth) as response,
    ):
        assert response.status_code == 200
        async with httpx.AsyncClient(base_url=stack["registry"].url, timeout=10) as registry:
            for profile in profiles:
                posted = await registry.post("/v1/profiles", json=profile, headers=auth)
                assert posted.status_code == 201, posted.text
        event: dict[str, str] = {}
        async with asyncio.timeout(45):
            async for line in response.aiter_lines():
                if not line and "data" in event:
                    return event
                field, _, value = line.partition(":")
                if field:
                    event[field] = value.removeprefix(" ")
    raise AssertionError("the stream ended without an event")


async def _directory_size(url: str) -> int:
    """The events service consumed both profiles into its own directory."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        count = (await connection.execute(select(func.count()).select_from(directory))).scalar_one()
    await engine.dispose()
    return int(count)


def test_matcher_killed_with_sigkill_catches_up_after_restart(
    stack: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    auth = _token(stack["registry"])
    museum, studio = complementary_profiles()
    matcher = stack["matcher"]
    stop_services([matcher], kill=True)
    _post(stack["registry"], auth, museum)
    _post(stack["registry"], auth, studio)
    env: dict[str, str] = stack["env"]  # type: ignore[assignment]
    restarted = start_service("matcher", matcher.port, env, tmp_path / "logs")
    try:
        wait_ready([restarted])
        items = _wait_for_feed(stack["notifier"], auth, 1, timeout=45)
        time.sleep(2)  # a duplicate, if the restart caused one, would arrive by now
        items = httpx.get(
            f"{stack['notifier'].url}/v1/notifications", headers=auth, timeout=5
        ).json()["items"]
        assert len(items) == 1, "exactly one notification for one new pair"
    finally:
        stop_services([restarted])
