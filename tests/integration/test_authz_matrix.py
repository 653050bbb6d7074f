"""The authorisation matrix across the four services: two hubs x three roles x every
endpoint, on real PostgreSQL and the broker (issue 12).

Each hub owns data in every service (a hub-only and a network-shared profile with
contacts, an event with a hub-only participant and a meeting, matches, a feed). Every
caller calls every endpoint on the *other* hub's data and must get what network sharing
allows: public endpoints answer anyone, lists are filtered, a hub-only thing is invisible
(404) or refused (403), and a refused write changes nothing in the service's database. No
answer to another hub's staff names a hub-only organisation or carries a contact, and no
answer to a network_admin carries a contact. The caller's own hub's reads answer 2xx.

The endpoint list is each app's OpenAPI document: an operation without an expectation
below fails `test_every_endpoint_has_an_expectation`, so none can be forgotten."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData, select

from tandem_matcher.app import create_app as create_matcher
from tandem_matcher.settings import MatcherSettings
from tandem_shared.auth import Role
from tandem_shared.contracts import MATCHES, PROFILES, OrgKind, ProfileUpserted, Sharing, pair_id
from tandem_shared.db import create_engine
from tests.support import bearer, eventually, produce, running, service_settings
from tests.support.channels import SmtpServer
from tests.support.events import (
    events_service,
    match_suggested,
    matching_event,
    profile,
    register,
)
from tests.support.harness import Kafka
from tests.support.matcher import two_profiles
from tests.support.notifier import (
    delivering_notifier,
    known_profiles,
    match_of,
)
from tests.support.notifier import profile as notifier_profile
from tests.support.registry import PASSWORD, add_staff, museum, running_registry

pytestmark = pytest.mark.integration
HUBS = ("north", "south")
CALLERS = [(hub, role) for hub in HUBS for role in Role]
SERVICES = ("registry", "matcher", "events", "notifier")


def other_hub(hub: str) -> str:
    return next(name for name in HUBS if name != hub)


def hidden_name(hub: str) -> str:
    """The name of a hub's hub-only organisation: no other hub's staff may ever read it."""
    return f"Hidden Archive of {hub}"


def contact_email(hub: str) -> str:
    """A contact of the hub's organisations: no other hub may ever read it."""
    return f"contact@{hub}.example"


Status = int | dict[Role, int]


@dataclass(frozen=True)
class Probe:
    """What an endpoint answers a caller of the other hub, on the owner's data (its path
    parameters filled from the owner's resources).

    `other`: the status for staff and hub_admin of the other hub; `admin`: for its
    network_admin (default: `other`); `own`: for the owner's callers (None: not called by
    them, a write the service's own tests cover). `public`: called without a token.
    A refused answer (4xx) must leave the service's database unchanged."""

    other: Status = 200
    admin: int | None = None
    own: Status | None = 200
    public: bool = False
    body: Callable[[str], Any] | None = None  # the caller's hub -> JSON body
    form: dict[str, str] | None = None
    check: Callable[[httpx.Response, str, Role], None] | None = None
    skip: str | None = None  # why it is not called here (and where it is tested)

    def expected(self, caller_hub: str, owner: str, role: Role) -> int | None:
        if caller_hub == owner:
            return _of_role(self.own, role)
        if role is Role.NETWORK_ADMIN and self.admin is not None:
            return self.admin
        return _of_role(self.other, role)


def _of_role(status: Status | None, role: Role) -> int | None:
    return status.get(role) if isinstance(status, dict) else status


def by_role(staff: int, hub_admin: int, network_admin: int) -> dict[Role, int]:
    """A status that depends on the caller's role, whichever hub owns the data."""
    return {Role.STAFF: staff, Role.HUB_ADMIN: hub_admin, Role.NETWORK_ADMIN: network_admin}


PUBLIC = Probe(public=True)


def _in_own_hub(response: httpx.Response, hub: str, _role: Role) -> None:
    assert response.json()["hub"] == hub


# --------------------------------------------------------------------------- expectations
# Keys are (method, OpenAPI path); `{...}` parameters are the owner's resources.

REGISTRY: dict[tuple[str, str], Probe] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("POST", "/v1/auth/token"): Probe(  # anyone with an account's password, no token
        public=True, form={"username": "seed@north.example", "password": PASSWORD}
    ),
    ("POST", "/v1/profiles"): Probe(
        other=201,
        own=201,
        body=lambda hub: museum(external_id=f"m-{uuid.uuid4()}"),
        check=_in_own_hub,
    ),
    ("GET", "/v1/profiles"): Probe(),
    ("POST", "/v1/profiles:import"): Probe(
        own=200, body=lambda hub: [museum(external_id=f"i-{uuid.uuid4()}")]
    ),
    ("GET", "/v1/profiles/export"): Probe(),
    ("GET", "/v1/profiles/{profile_id}"): Probe(other=404, admin=200),
    ("PATCH", "/v1/profiles/{profile_id}"): Probe(
        other=404, admin=403, own=None, body=lambda hub: {"name": "taken over"}
    ),
    ("DELETE", "/v1/profiles/{profile_id}"): Probe(other=404, admin=403, own=None),
}

MATCHER: dict[tuple[str, str], Probe] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/v1/profiles/{profile_id}/matches"): Probe(other=404, admin=200),
    ("GET", "/v1/matches/{pair_id}"): Probe(other=404, admin=200),
    ("POST", "/v1/matches/{pair_id}/feedback"): Probe(
        other=404, admin=403, own=None, body=lambda hub: {"outcome": "accepted"}
    ),
    ("GET", "/v1/weights"): Probe(other=by_role(403, 403, 200), own=by_role(403, 403, 200)),
}

EVENTS: dict[tuple[str, str], Probe] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/v1/events"): Probe(
        other=201, own=201, body=lambda hub: matching_event(), check=_in_own_hub
    ),
    ("GET", "/v1/events"): Probe(),  # announcements: every hub reads them
    ("GET", "/v1/events/{event_id}"): Probe(),
    ("PATCH", "/v1/events/{event_id}"): Probe(
        other=403, own=None, body=lambda hub: {"title": "taken over"}
    ),
    ("POST", "/v1/events/{event_id}:cancel"): Probe(other=403, own=None, body=lambda hub: {}),
    # The owner's hub-only profile: another hub may not register it (a network_admin
    # reads every hub but writes none).
    ("POST", "/v1/events/{event_id}/registrations"): Probe(
        other=422,
        own=None,
        body=lambda hub: {
            "profile_id": "{hidden_profile}",
            "participant": {"name": "Intruder", "email": "i@example.org"},
        },
    ),
    ("GET", "/v1/events/{event_id}/registrations"): Probe(),  # outsiders: an empty list
    ("POST", "/v1/events/{event_id}/registrations/{registration_id}:withdraw"): Probe(
        other=403, own=None
    ),
    ("POST", "/v1/events/{event_id}/registrations/{registration_id}:check-in"): Probe(
        other=403, own=None
    ),
    ("POST", "/v1/events/{event_id}/requests"): Probe(
        other=403,
        own=None,
        body=lambda hub: {
            "from_registration": "{registration_id}",
            "to_registration": "{partner_registration}",
        },
    ),
    ("GET", "/v1/events/{event_id}/requests"): Probe(),
    ("POST", "/v1/events/{event_id}/requests/{request_id}:accept"): Probe(other=403, own=None),
    ("POST", "/v1/events/{event_id}/requests/{request_id}:decline"): Probe(
        other=403, own=None, body=lambda hub: {"reason": "no"}
    ),
    # The organiser's scheduling rules: another hub may set none of them.
    ("PUT", "/v1/events/{event_id}/registrations/{registration_id}/rules"): Probe(
        other=403, own=None, body=lambda hub: {"session_cap": 1}
    ),
    ("PUT", "/v1/events/{event_id}/requests/{request_id}/rules"): Probe(
        other=403, own=None, body=lambda hub: {"pinned_slot": 0}
    ),
    ("GET", "/v1/events/{event_id}/suggestions"): Probe(),
    ("POST", "/v1/events/{event_id}/schedule"): Probe(other=403, own=None),
    ("GET", "/v1/events/{event_id}/schedule"): Probe(),
    ("GET", "/v1/events/{event_id}/table-plan"): Probe(),
    ("GET", "/v1/events/{event_id}/registrations/{registration_id}/agenda"): Probe(
        other=403, admin=200
    ),
    ("POST", "/v1/events/{event_id}/registrations/{registration_id}/calendar-link"): Probe(
        other=403
    ),
    ("GET", "/v1/events/{event_id}/registrations/{registration_id}/agenda.ics"): Probe(
        other=403, admin=200
    ),
    ("GET", "/v1/events/{event_id}/meetings/{meeting_id}.ics"): Probe(other=403, admin=200),
    ("POST", "/v1/events/{event_id}/meetings/{meeting_id}/outcome"): Probe(
        other=403, own=None, body=lambda hub: {"outcome": "held"}
    ),
    ("GET", "/v1/events/{event_id}/stats"): Probe(other=403),
}

NOTIFIER: dict[tuple[str, str], Probe] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/v1/notifications"): Probe(),  # the caller's own hub's feed
    ("GET", "/v1/notifications/stream"): Probe(
        skip="a server-sent-events stream of the caller's own hub feed "
        "(test_notifier_feed.py reads it per hub)"
    ),
    ("POST", "/v1/notifications/{notification_id}/read"): Probe(other=404, own=None),
    ("POST", "/v1/notifications:read-all"): Probe(),  # the caller's own feed only
    ("GET", "/v1/subscriptions"): Probe(),  # the caller's own
    ("PUT", "/v1/subscriptions"): Probe(
        other=422,
        admin=200,
        own=None,
        body=lambda hub: {"items": [{"scope": "profile", "profile_id": "{hidden_profile}"}]},
    ),
    ("GET", "/v1/preferences"): Probe(),
    ("PUT", "/v1/preferences"): Probe(own=None, body=lambda hub: {"language": "de"}),
    ("GET", "/v1/unsubscribe"): Probe(public=True, other=400, own=400),
    ("POST", "/v1/unsubscribe"): Probe(public=True, other=400, own=400),
    # The caller's own hub's deliveries and webhook, for its hub_admin (and network_admin).
    ("GET", "/v1/deliveries"): Probe(other=by_role(403, 200, 200), own=by_role(403, 200, 200)),
    ("GET", "/v1/webhooks"): Probe(other=by_role(403, 200, 200), own=by_role(403, 200, 200)),
    ("PUT", "/v1/webhooks"): Probe(
        other=by_role(403, 200, 200),
        own=None,
        body=lambda hub: {"url": f"https://127.0.0.1:9/{hub}", "secret": "s" * 24},
    ),
}

EXPECTATIONS = {"registry": REGISTRY, "matcher": MATCHER, "events": EVENTS, "notifier": NOTIFIER}


# --------------------------------------------------------------------------- the services


@dataclass
class Running:
    """A service under test with both hubs' data: resources[hub] fills the path and body
    placeholders of the probes when that hub is the owner."""

    name: str
    client: httpx.AsyncClient
    app: FastAPI
    resources: dict[str, dict[str, str]] = field(default_factory=dict)

    def auth(self, hub: str, role: Role) -> dict[str, str]:
        return bearer(self.app.state.runtime.settings, hub, role, subject=f"{role.value}@{hub}")

    async def snapshot(self) -> dict[str, list[str]]:
        """Every row of the service, except the relay's bookkeeping (`sent_at`)."""
        module = __import__(f"tandem_{self.name}.tables", fromlist=["metadata"])
        metadata: MetaData = module.metadata
        engine = create_engine(str(self.app.state.runtime.settings.database_url))
        try:
            async with engine.connect() as connection:
                found = {}
                for table in metadata.sorted_tables:
                    rows = (await connection.execute(select(table))).mappings()
                    found[table.name] = sorted(
                        repr({k: v for k, v in row.items() if k != "sent_at"}) for row in rows
                    )
                return found
        finally:
            await engine.dispose()


def _fill(value: Any, resources: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**resources) if "{" in value else value
    if isinstance(value, list):
        return [_fill(item, resources) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, resources) for key, item in value.items()}
    return value


async def _registry(databases: dict[str, str], kafka: Any, prefix: str) -> AsyncIterator[Running]:
    async with running_registry(databases, kafka, prefix) as registry:
        service = Running("registry", registry.client, registry.app)
        for hub in HUBS:
            await add_staff(registry.app, hub=hub, email=f"seed@{hub}.example", role=Role.STAFF)
            body = museum(
                name=hidden_name(hub), sharing="hub", external_id=f"{hub}-hidden",
                contact={"name": "Contact", "email": contact_email(hub)},
            )  # fmt: skip
            created = await registry.post(body, service.auth(hub, Role.STAFF))
            service.resources[hub] = {"profile_id": created["id"]}
        yield service


async def _matcher(databases: dict[str, str], kafka: Any, prefix: str) -> AsyncIterator[Running]:
    settings = service_settings(
        MatcherSettings, database_url=databases["matcher"], kafka=kafka, prefix=prefix
    )
    app = create_matcher(settings)
    async with running(app) as client:
        service = Running("matcher", client, app)
        for hub in HUBS:
            a, b = (
                ProfileUpserted(
                    source=p.source,
                    subject=p.subject,
                    hub=hub,
                    data=p.data.model_copy(update={"hub": hub, "name": f"{hidden_name(hub)} {n}"}),
                )
                for n, p in enumerate(two_profiles(sharing="hub"))
            )
            records = [(m.subject.encode(), m.model_dump_json().encode()) for m in (a, b)]
            await produce(kafka.bootstrap, prefix + PROFILES.topic(hub), records)
            url = f"/v1/profiles/{a.data.id}/matches"
            auth = service.auth(hub, Role.STAFF)

            async def paired(url: str = url, auth: dict[str, str] = auth) -> Any:
                response = await client.get(url, headers=auth)
                return response.status_code == 200 and response.json()["matches"]

            await eventually(paired, what=f"{hub}'s pair")
            service.resources[hub] = {
                "profile_id": str(a.data.id),
                "pair_id": pair_id(a.data.id, b.data.id),
            }
        yield service


async def _events(databases: dict[str, str], kafka: Any, prefix: str) -> AsyncIterator[Running]:
    async with events_service(databases, kafka, prefix) as events:
        service = Running("events", events.client, events.app)
        for hub in HUBS:
            hidden = profile(hidden_name(hub), hub=hub, sharing=Sharing.HUB)
            partner = profile(f"Shared Studio of {hub}", hub=hub)
            await events.add_profiles(hidden, partner)
            event = await events.call(
                "POST", "/v1/events", json=matching_event(), hub=hub, expect=201
            )
            base = f"/v1/events/{event['id']}"
            ours = await register(events, event["id"], hidden)
            theirs = await register(events, event["id"], partner)
            await events.publish(MATCHES, match_suggested(hidden, partner))

            async def suggested(base: str = base, hub: str = hub) -> Any:
                return await events.call("GET", f"{base}/suggestions", hub=hub)

            await eventually(suggested, what=f"{hub}'s suggestion")
            ask = {"from_registration": theirs["id"], "to_registration": ours["id"]}
            request = await events.call("POST", f"{base}/requests", json=ask, hub=hub, expect=201)
            await events.call("POST", f"{base}/schedule", hub=hub)
            (meeting,) = (await events.call("GET", f"{base}/schedule", hub=hub))["meetings"]
            service.resources[hub] = {
                "event_id": event["id"],
                "registration_id": ours["id"],
                "partner_registration": theirs["id"],
                "request_id": request["id"],
                "meeting_id": meeting["id"],
                "hidden_profile": str(hidden.id),
            }
        yield service


async def _notifier(databases: dict[str, str], kafka: Any, prefix: str) -> AsyncIterator[Running]:
    smtp = SmtpServer()
    smtp.start()
    try:
        async with delivering_notifier(databases, kafka, prefix, smtp) as notifier:
            service = Running("notifier", notifier.client, notifier.app)
            for hub in HUBS:
                a = notifier_profile(hub, hidden_name(hub), OrgKind.HERITAGE, [])
                b = notifier_profile(hub, f"{hidden_name(hub)} 2", OrgKind.CREATIVE, [])
                await known_profiles(notifier, a, b)
                await notifier.publish(MATCHES, match_of(a, b))
                auth = service.auth(hub, Role.STAFF)

                async def fed(auth: dict[str, str] = auth) -> Any:
                    response = await notifier.client.get("/v1/notifications", headers=auth)
                    return response.json()["items"]

                (item,) = await eventually(fed, what=f"{hub}'s feed")
                service.resources[hub] = {
                    "notification_id": item["id"],
                    "hidden_profile": str(a.data.id),
                }
            yield service
    finally:
        smtp.stop()


STARTERS: dict[str, Callable[[dict[str, str], Any, str], AsyncIterator[Running]]] = {
    "registry": _registry,
    "matcher": _matcher,
    "events": _events,
    "notifier": _notifier,
}


def _apps() -> dict[str, FastAPI]:
    """Each service's app, built (not started) only for its OpenAPI document."""
    apps = {}
    for name in SERVICES:
        app_module = __import__(f"tandem_{name}.app", fromlist=["create_app"])
        settings_module = __import__(f"tandem_{name}.settings", fromlist=["_"])
        settings_class = getattr(settings_module, f"{name.capitalize()}Settings")
        settings = service_settings(
            settings_class,
            database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/unused",
            kafka=Kafka("127.0.0.1:9", idempotence=False),
            prefix="unused.",
        )
        apps[name] = app_module.create_app(settings)
    return apps


def _operations(app: FastAPI) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_endpoint_has_an_expectation() -> None:
    for name, app in _apps().items():
        operations = _operations(app)
        expected = set(EXPECTATIONS[name])
        assert operations - expected == set(), f"{name}: endpoints without an expectation"
        assert expected - operations == set(), f"{name}: expectations of no endpoint"


async def _call(service: Running, key: tuple[str, str], probe: Probe, owner: str, who: Any) -> Any:
    method, path = key
    resources = service.resources[owner]
    kwargs: dict[str, Any] = {}
    if probe.body is not None:
        kwargs["json"] = _fill(probe.body(who[0] if who else owner), resources)
    if probe.form is not None:
        kwargs["data"] = probe.form
    headers = {} if probe.public else service.auth(*who)
    return await service.client.request(method, path.format(**resources), headers=headers, **kwargs)


@pytest.mark.parametrize("name", SERVICES)
async def test_the_matrix(
    name: str, clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    async for service in STARTERS[name](clean_databases, kafka, topic_prefix):
        wrong: list[str] = []
        for key, probe in EXPECTATIONS[name].items():
            if probe.skip:
                continue
            for hub, role in CALLERS:
                owner = other_hub(hub)
                await _probe(service, key, probe, owner, (hub, role), wrong)
                if probe.own is not None and not probe.public:
                    await _probe(service, key, probe, hub, (hub, role), wrong)
        assert wrong == [], "\n".join(wrong)


async def _probe(
    service: Running,
    key: tuple[str, str],
    probe: Probe,
    owner: str,
    who: tuple[str, Role],
    wrong: list[str],
) -> None:
    hub, role = who
    expected = probe.expected(hub, owner, role)
    # A refused write must change nothing; reads write nothing, so only writes are
    # compared (a snapshot reads every table of the service's database).
    refused_write = expected is not None and expected >= 400 and key[0] != "GET"
    before = await service.snapshot() if refused_write else None
    response = await _call(service, key, probe, owner, who)
    label = f"{key[0]} {key[1]} by {role.value}@{hub} on {owner}'s"
    if response.status_code != expected:
        wrong.append(f"{label}: {response.status_code} (expected {expected}) {response.text[:200]}")
        return
    if before is not None and await service.snapshot() != before:
        wrong.append(f"{label}: refused, yet the database changed")
    if hub != owner:
        text = response.text
        if contact_email(owner) in text:
            wrong.append(f"{label}: carries {owner}'s contact")
        if role is not Role.NETWORK_ADMIN and hidden_name(owner) in text:
            wrong.append(f"{label}: names {owner}'s hub-only organisation")
    if probe.check is not None and response.status_code < 300:
        probe.check(response, hub, role)
