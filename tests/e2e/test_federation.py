"""Two hubs, north and south, each its own four services (separate processes, own
databases, own registry key) on one broker: what north keeps to itself appears on no topic
but north's own local ones, a pair shared with the network reaches both hubs' staff, and a
message that claims a hub that does not own its topic is dead-lettered by the reader. Only
a hub's own issuer speaks for it: forged and foreign tokens get a 401, and the other hub's
staff can neither read nor change what a hub keeps to itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tandem_shared.auth import Principal, Role
from tandem_shared.contracts import PROFILES, ProfileData, ProfileUpserted, Scope, dead_letter_topic
from tandem_shared.identity.keys import SigningKey
from tandem_shared.identity.tokens import issue_token
from tandem_tools.pg import create_database, database_url, drop_database
from tandem_tools.stack import ServiceProcess, federation_env, start_hub, stop_services, wait_ready
from tests.support import (
    FAST_STACK_ENV,
    complementary_profiles,
    produce,
    read_all_topics,
    read_topic,
)

pytestmark = pytest.mark.e2e

Hub = dict[str, ServiceProcess]


@pytest.fixture
def south_databases(pg_server: str) -> Iterator[dict[str, str]]:
    """South's own four databases (north uses the session's); the services migrate them."""
    run = uuid.uuid4().hex[:8]
    names = {
        s: f"tandem_test_{run}_south_{s}" for s in ("registry", "matcher", "events", "notifier")
    }
    for database in names.values():
        asyncio.run(create_database(pg_server, database, if_missing=False))
    yield {service: database_url(pg_server, name) for service, name in names.items()}
    for database in names.values():
        asyncio.run(drop_database(pg_server, database))


@pytest.fixture
def hubs(
    clean_databases: dict[str, str],
    south_databases: dict[str, str],
    kafka: Any,
    topic_prefix: str,
    tmp_path: Path,
) -> Iterator[dict[str, Hub]]:
    common = {
        "TANDEM_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TANDEM_KAFKA_IDEMPOTENCE": str(kafka.idempotence).lower(),
        "TANDEM_KAFKA_TOPIC_PREFIX": topic_prefix,
        "TANDEM_ENVIRONMENT": "dev",
        **FAST_STACK_ENV,
        "TANDEM_REGISTRY_DEV_KEY_DIR": str(tmp_path / "keys"),
        "TANDEM_NOTIFIER_DELIVERY_POLL_SECONDS": "0.2",
    }
    databases = {"north": clean_databases, "south": south_databases}
    envs = federation_env(common, databases, ports=_free_ports())
    started: dict[str, Hub] = {}
    try:
        for hub, (ports, env) in envs.items():
            started[hub] = start_hub(hub, ports, env, tmp_path / "logs" / hub)
        wait_ready([p for hub in started.values() for p in hub.values()], timeout=180)
        yield started
    finally:
        stop_services([p for hub in started.values() for p in hub.values()])


def _free_ports() -> dict[str, dict[str, int]]:
    from tandem_shared.broker import free_port

    names = ("registry", "matcher", "events", "notifier")
    return {hub: {name: free_port() for name in names} for hub in ("north", "south")}


def _token(registry: ServiceProcess, hub: str) -> dict[str, str]:
    response = httpx.post(
        f"{registry.url}/v1/auth/token",
        data={"username": f"admin@{hub}.local", "password": "tandem-dev"},
        timeout=10,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _post(registry: ServiceProcess, auth: dict[str, str], profile: dict[str, Any]) -> str:
    response = httpx.post(f"{registry.url}/v1/profiles", json=profile, headers=auth, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _feed_pairs(notifier: ServiceProcess, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{notifier.url}/v1/notifications", headers=auth, timeout=5)
    response.raise_for_status()
    return [item for item in response.json()["items"] if item["kind"] == "match.suggested"]


def _wait_for_match(
    notifier: ServiceProcess, auth: dict[str, str], partner: str, timeout: float
) -> None:
    """Until the feed holds a match naming `partner` (north's feed may first show the pair
    of its museum and its own hub-only studio, which is as right)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(partner in item["title"] for item in _feed_pairs(notifier, auth)):
            return
        time.sleep(0.25)
    raise AssertionError(f"no match with {partner} in {notifier.url}'s feed after {timeout}s")


def test_two_hubs_share_only_what_they_shared(
    hubs: dict[str, Hub], kafka: Any, topic_prefix: str, tmp_path: Path
) -> None:
    north, south = hubs["north"], hubs["south"]
    north_auth, south_auth = _token(north["registry"], "north"), _token(south["registry"], "south")
    museum, studio = complementary_profiles()  # both shared with the network
    secret = f"Restaurierung des geheimen Altars {uuid.uuid4().hex}"
    hub_only = {
        **studio,
        "name": "Pracownia tylko dla północy",
        "needs": [{"text": secret}],
        "sharing": "hub",
    }
    hidden_id = _post(north["registry"], north_auth, hub_only)
    _post(north["registry"], north_auth, museum)
    _post(south["registry"], south_auth, studio)

    # The shared Polish museum (north) and German studio (south) reach both hubs' staff.
    _wait_for_match(north["notifier"], north_auth, "Scanwerk", timeout=90)
    _wait_for_match(south["notifier"], south_auth, "Muzeum", timeout=90)

    _only_a_hubs_own_issuer_speaks_for_it(north, south, south_auth, tmp_path, hidden_id)

    # The hub-only profile's id and text are on no topic but north's local ones.
    topics = asyncio.run(read_all_topics(kafka.bootstrap, topic_prefix))
    north_local = topic_prefix + "tandem.north."
    assert topic_prefix + PROFILES.topic("south", Scope.NETWORK) in topics
    seen_in = {
        topic
        for topic, records in topics.items()
        for record in records
        if hidden_id.encode() in (record.key or b"") + (record.value or b"")
        or secret.encode() in (record.value or b"")
    }
    assert topic_prefix + PROFILES.topic("north") in seen_in  # the check can see it
    assert {topic for topic in seen_in if not topic.startswith(north_local)} == set()

    # South forges a profile of north's on its own network topic: north dead-letters it.
    forged = _forged_north_profile(topics[topic_prefix + PROFILES.topic("north")])
    asyncio.run(
        produce(
            kafka.bootstrap,
            topic_prefix + PROFILES.topic("south", Scope.NETWORK),
            [(forged.subject.encode(), forged.model_dump_json().encode())],
        )
    )
    dlq = topic_prefix + dead_letter_topic(PROFILES.topic("north"))
    dead = asyncio.run(read_topic(kafka.bootstrap, dlq, expect=3, timeout=60))
    mine = [
        dict(r.headers)
        for r in dead
        if dict(r.headers)["dlq_message_id"] == str(forged.id).encode()
    ]
    assert len(mine) == 3  # north's matcher, events and notifier each refused it
    assert {h["dlq_reason"] for h in mine} == {b"wrong hub"}
    assert {h["dlq_error"] for h in mine} == {
        b"envelope hub 'north' does not own this topic (hub 'south' writes it)"
    }


def _only_a_hubs_own_issuer_speaks_for_it(
    north: Hub, south: Hub, south_auth: dict[str, str], tmp_path: Path, hidden_id: str
) -> None:
    """A token for north signed by a key nobody trusts, or by south's registry, gets a 401
    from north; south's own staff can neither read nor change north's hub-only profile."""
    north_issuer, south_issuer = north["registry"].url, south["registry"].url
    south_key = SigningKey.from_pem((tmp_path / "keys" / "registry-south.pem").read_bytes())
    as_north_admin = Principal(subject="mallory@south.local", hub="north", role=Role.HUB_ADMIN)
    forged = {
        "an unknown key in north's name": issue_token(
            as_north_admin, key=SigningKey.generate(), issuer=north_issuer
        ),
        "south's registry speaking for north": issue_token(
            as_north_admin, key=south_key, issuer=south_issuer
        ),
    }
    profile_url = f"{north['registry'].url}/v1/profiles/{hidden_id}"
    for how, token in forged.items():
        answer = httpx.get(profile_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 401, f"{how}: {answer.status_code} {answer.text}"
    read = httpx.get(profile_url, headers=south_auth, timeout=10)
    assert read.status_code in (403, 404), read.text
    changed = httpx.patch(profile_url, json={"name": "Taken over"}, headers=south_auth, timeout=10)
    assert changed.status_code in (403, 404), changed.text
    erased = httpx.delete(profile_url, headers=south_auth, timeout=10)
    assert erased.status_code in (403, 404), erased.text


def _forged_north_profile(north_records: list[Any]) -> ProfileUpserted:
    """North's shared museum as south would forge it: a new name, a higher version."""
    for record in north_records:
        if record.value and b"Muzeum" in record.value:
            original = ProfileUpserted.model_validate_json(record.value)
            data: ProfileData = original.data.model_copy(
                update={"name": "Forged by south", "version": original.data.version + 10}
            )
            return original.model_copy(update={"id": uuid.uuid4(), "data": data})
    raise AssertionError("north's museum is not on north's local profiles topic")
