"""The events service under test: running over ASGI on real PostgreSQL and the real broker,
with tokens for two hubs and helpers to feed its topics and read what it published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tandem_events.app import create_app
from tandem_events.settings import EventsSettings
from tandem_events.tables import directory
from tandem_shared.auth import Role
from tandem_shared.contracts import (
    PROFILES,
    Envelope,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    Message,
    OrgKind,
    ProfileData,
    ProfileUpserted,
    Sharing,
    pair_id,
    parse_message,
)
from tandem_shared.db import transaction
from tests.support import bearer, eventually, produce, read_topic, running, service_settings


@dataclass
class Events:
    client: httpx.AsyncClient
    app: FastAPI
    settings: EventsSettings
    kafka: Any

    def auth(self, hub: str = "demo", role: Role = Role.HUB_ADMIN) -> dict[str, str]:
        return bearer(self.settings, hub, role)

    async def call(
        self, method: str, url: str, *, expect: int = 200, hub: str = "demo", **kwargs: Any
    ) -> Any:
        response = await self.client.request(method, url, headers=self.auth(hub), **kwargs)
        assert response.status_code == expect, response.text
        return response.json() if "json" in response.headers.get("content-type", "") else response

    async def publish(self, topic: str, *messages: Envelope) -> None:
        records = [(m.subject.encode(), m.model_dump_json().encode()) for m in messages]
        await produce(self.kafka.bootstrap, self.settings.topic(topic), records)

    async def messages(self, topic: str, expect: int, timeout: float = 20.0) -> list[Message]:
        records = await read_topic(
            self.kafka.bootstrap, self.settings.topic(topic), expect=expect, timeout=timeout
        )
        return [parse_message(record.value) for record in records if record.value is not None]

    async def add_profiles(self, *profiles: ProfileData) -> None:
        """Profiles arrive as the registry publishes them; wait until all are projected."""
        await self.publish(
            PROFILES.name,
            *(
                ProfileUpserted(
                    source="/tandem/registry/test", subject=str(p.id), hub=p.hub, data=p
                )
                for p in profiles
            ),
        )
        wanted = {profile.id for profile in profiles}

        async def projected() -> bool:
            async with transaction(self.app.state.runtime.sessionmaker) as session:
                rows = await session.execute(
                    select(directory.c.id).where(directory.c.id.in_(wanted))
                )
                return set(rows.scalars()) == wanted

        await eventually(projected, what="profiles in the directory")


def profile(
    name: str, hub: str = "demo", sharing: Sharing = Sharing.NETWORK, version: int = 1
) -> ProfileData:
    return ProfileData(
        id=uuid.uuid4(),
        hub=hub,
        version=version,
        name=name,
        kind=OrgKind.CREATIVE,
        country="PL",
        sharing=sharing,
        updated_at=datetime.now(UTC),
    )


def match_suggested(a: ProfileData, b: ProfileData, score: float = 0.8) -> MatchSuggested:
    pair = pair_id(a.id, b.id)
    data = MatchData(
        pair_id=pair,
        profile_a=a.id,
        profile_b=b.id,
        hub_a=a.hub,
        hub_b=b.hub,
        version=1,
        score=score,
        explanation=MatchExplanation(summary="a needs what b offers"),
    )
    return MatchSuggested(source="/tandem/matcher/test", subject=pair, hub=a.hub, data=data)


def matching_event(**changes: Any) -> dict[str, Any]:
    """A matching event in Warsaw next year: two sessions of 20-minute slots, 3 tables."""
    return {
        "title": "Culture and Creative Winter Market",
        "kind": "matching_event",
        "venue": "Centrum Praskie Koneser",
        "address": "pl. Konesera 1, 03-736 Warszawa",
        "timezone": "Europe/Warsaw",
        "starts_at": "2027-01-20T09:00:00",
        "ends_at": "2027-01-20T18:00:00",
        "capacity": 50,
        "languages": ["pl", "en"],
        "sessions": [
            {
                "starts_at": "2027-01-20T10:00:00",
                "slot_minutes": 20,
                "break_minutes": 5,
                "slots": 4,
            },
            {
                "starts_at": "2027-01-20T14:00:00",
                "slot_minutes": 20,
                "break_minutes": 0,
                "slots": 2,
            },
        ],
        "tables": ["A", "B", "C"],
        **changes,
    }


@asynccontextmanager
async def events_service(
    databases: dict[str, str], kafka: Any, prefix: str, **overrides: Any
) -> AsyncIterator[Events]:
    settings = service_settings(
        EventsSettings,
        database_url=databases["events"],
        kafka=kafka,
        prefix=prefix,
        **{"schedule_time_limit_seconds": 2.0, "repair_poll_seconds": 0.5, **overrides},
    )
    app = create_app(settings)
    async with running(app) as client:
        yield Events(client=client, app=app, settings=settings, kafka=kafka)
