"""The shared error family is answered the same way by every app, and a service's publisher
fills in its source and refuses message types that are not on its own topics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData

from tandem_shared.bus.publisher import Publisher, UnpublishableMessage
from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.contracts import (
    MATCHES,
    PROFILES,
    MatchWithdrawn,
    MatchWithdrawnData,
    ProfileErased,
    ProfileErasedData,
    Scope,
    topic_of,
)
from tandem_shared.errors import Conflict, Forbidden, Invalid, NotFound, TandemError
from tandem_shared.http import install_http_basics

pytestmark = pytest.mark.unit

PROFILE = uuid.UUID("00000000-0000-4000-8000-00000000000a")


def _app_raising(error: TandemError) -> FastAPI:
    async def ready(_app: FastAPI) -> dict[str, bool]:
        return {}

    app = FastAPI()
    install_http_basics(app, service="test", ready_check=ready)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (NotFound("no such profile"), 404, "no such profile"),
        (Forbidden("another hub's profile"), 403, "another hub's profile"),
        (Conflict("duplicate external_id"), 409, "duplicate external_id"),
        (
            Invalid("ends_at", "must follow starts_at"),
            422,
            [{"loc": ["body", "ends_at"], "msg": "must follow starts_at", "type": "value_error"}],
        ),
    ],
)
async def test_each_refusal_has_one_http_answer(
    error: TandemError, status: int, detail: object
) -> None:
    transport = httpx.ASGITransport(app=_app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    assert response.json() == {"detail": detail}


def _erased() -> ProfileErasedData:
    return ProfileErasedData(id=PROFILE, hub="north", version=2, erased_at=datetime.now(UTC))


def test_the_publisher_names_its_source_and_finds_the_topic() -> None:
    publisher = Publisher("registry", define_bus_tables(MetaData()), owns=(PROFILES,))
    message = publisher.message(ProfileErased, hub="north", subject=str(PROFILE), data=_erased())
    assert message.source == "/tandem/registry/north"
    assert message.hub == "north"
    assert publisher.topic_for(message) == "tandem.north.profiles.v1"
    network = publisher.topic_for(message, Scope.NETWORK)
    assert network == "tandem.network.north.profiles.v1"


def withdrawn_in_north(reason: str) -> MatchWithdrawn:
    """A north-internal match withdrawal (what the matcher publishes on north's topic)."""
    data = MatchWithdrawnData(
        pair_id=f"{PROFILE}:{PROFILE}",
        profile_a=PROFILE,
        profile_b=PROFILE,
        hub_a="north",
        hub_b="north",
        version=1,
        reason=reason,
    )
    return MatchWithdrawn(source="/x", subject="p", hub="north", data=data)


def test_the_publisher_refuses_a_network_topic_for_a_family_never_shared() -> None:
    publisher = Publisher("matcher", define_bus_tables(MetaData()), owns=(MATCHES,))
    message = withdrawn_in_north("declined: hub-only words")
    assert publisher.topic_for(message) == "tandem.north.matches.v1"
    with pytest.raises(UnpublishableMessage, match="matches is not shared with the network"):
        publisher.topic_for(message, Scope.NETWORK)


def test_the_publisher_refuses_a_type_from_another_services_topic() -> None:
    publisher = Publisher("registry", define_bus_tables(MetaData()), owns=(PROFILES,))
    message = withdrawn_in_north("gone")
    assert topic_of(MatchWithdrawn) == MATCHES
    with pytest.raises(UnpublishableMessage, match="it belongs on the matches topics"):
        publisher.topic_for(message)
