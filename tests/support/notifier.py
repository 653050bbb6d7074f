"""The notifier under test for delivery: its settings, a running instance that delivers, and
the messages it receives (profiles, matches, meetings)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tandem_notifier.app import create_app
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.tables import directory
from tandem_shared.auth import Role
from tandem_shared.contracts import (
    PROFILES,
    Envelope,
    MatchData,
    MatchExplanation,
    MatchSuggested,
    MeetingCancelled,
    MeetingCancelledData,
    MeetingData,
    MeetingScheduled,
    OrgKind,
    ProfileData,
    ProfileUpserted,
    Sharing,
    TextPair,
    TopicSpec,
    pair_id,
)
from tandem_shared.db import transaction
from tests.support import bearer, eventually, produce_messages, service_settings
from tests.support.channels import SmtpServer
from tests.support.served import served

SECRET = "webhook-secret-0123456789"


@dataclass
class Notifier:
    app: FastAPI
    client: httpx.AsyncClient
    settings: NotifierSettings
    kafka: Any
    smtp: SmtpServer

    async def publish(self, topic: TopicSpec, *messages: Envelope) -> None:
        await produce_messages(
            self.kafka.bootstrap, self.settings.kafka_topic_prefix, topic, messages
        )

    async def staff(
        self,
        subject: str,
        hub: str = "demo",
        *,
        subscriptions: list[dict[str, Any]] | None = None,
        **preferences: Any,
    ) -> dict[str, str]:
        auth = bearer(self.settings, hub, subject=subject)
        wanted = {"channels": ["feed", "email"], **preferences}
        response = await self.client.put("/v1/preferences", json=wanted, headers=auth)
        assert response.status_code == 200, response.text
        if subscriptions is not None:
            response = await self.client.put(
                "/v1/subscriptions", json={"items": subscriptions}, headers=auth
            )
            assert response.status_code == 200, response.text
        return auth

    async def deliveries(self, hub: str = "demo", **params: Any) -> list[dict[str, Any]]:
        admin = bearer(self.settings, hub, Role.HUB_ADMIN, subject=f"admin@{hub}.example")
        response = await self.client.get(
            "/v1/deliveries", params={"per_page": 100, **params}, headers=admin
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def mail_to(self, address: str, count: int = 1) -> list[EmailMessage]:
        async def arrived() -> list[EmailMessage] | None:
            mails = self.smtp.to(address)
            return mails if len(mails) >= count else None

        return await eventually(arrived, what=f"{count} email(s) to {address}")


def notifier_settings(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str, smtp: SmtpServer
) -> NotifierSettings:
    return service_settings(
        NotifierSettings,
        database_url=clean_databases["notifier"],
        kafka=kafka,
        prefix=topic_prefix,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        webhook_allow_private=True,  # the receivers listen on loopback
        webhook_allow_http=True,
        delivery_poll_seconds=0.2,
        delivery_backoff_seconds=0.2,
        delivery_backoff_max_seconds=1.0,
        delivery_max_attempts=3,
    )


@asynccontextmanager
async def delivering_notifier(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str, smtp: SmtpServer
) -> AsyncIterator[Notifier]:
    """The notifier served over HTTP, delivering to `smtp` (other test modules use it too)."""
    settings = notifier_settings(clean_databases, kafka, topic_prefix, smtp)
    app = create_app(settings)
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield Notifier(app, client, settings, kafka, smtp)


def profile(
    hub: str, name: str, kind: OrgKind, subsectors: list[str], sharing: Sharing = Sharing.HUB
) -> ProfileUpserted:
    data = ProfileData(
        id=uuid.uuid4(),
        hub=hub,
        version=1,
        name=name,
        kind=kind,
        subsectors=subsectors,
        country="PL",
        sharing=sharing,
        updated_at=datetime.now(UTC),
    )
    return ProfileUpserted(source="/tandem/registry/test", subject=str(data.id), hub=hub, data=data)


async def known_profiles(notifier: Notifier, *profiles: ProfileUpserted) -> None:
    """Publish the profiles and wait until the notifier's directory holds them."""
    await notifier.publish(PROFILES, *profiles)
    wanted = {p.data.id for p in profiles}

    async def projected() -> bool:
        async with transaction(notifier.app.state.runtime.sessionmaker) as session:
            rows = await session.execute(select(directory.c.id).where(directory.c.id.in_(wanted)))
            return set(rows.scalars()) == wanted

    await eventually(projected, what="the profiles in the notifier's directory")


def match_of(a: ProfileUpserted, b: ProfileUpserted, score: float = 0.82) -> MatchSuggested:
    pair = pair_id(a.data.id, b.data.id)
    data = MatchData(
        pair_id=pair,
        profile_a=a.data.id,
        profile_b=b.data.id,
        hub_a=a.data.hub,
        hub_b=b.data.hub,
        version=1,
        score=score,
        explanation=MatchExplanation(
            summary="3D digitisation <needed> and offered",
            a_needs_b_offers=TextPair(
                need="digitalizacja 3D kolekcji", offer="3D-Scans von Kulturgütern", similarity=0.9
            ),
        ),
    )
    return MatchSuggested(source="/tandem/matcher/test", subject=pair, hub=a.data.hub, data=data)


def a_match(hub_a: str = "demo", hub_b: str = "elsewhere") -> MatchSuggested:
    return match_of(
        profile(hub_a, f"Org {uuid.uuid4().hex[:6]}", OrgKind.HERITAGE, []),
        profile(hub_b, f"Org {uuid.uuid4().hex[:6]}", OrgKind.CREATIVE, []),
    )


def meeting(hub_a: str = "demo", hub_b: str = "elsewhere") -> MeetingScheduled:
    starts = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    data = MeetingData(
        id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        hub="organiser",
        version=1,
        event_title="Matchmaking Forum Kraków",
        timezone="Europe/Warsaw",
        profile_a=uuid.uuid4(),
        profile_b=uuid.uuid4(),
        hub_a=hub_a,
        hub_b=hub_b,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=20),
        table="7",
        location="Hall B",
    )
    return MeetingScheduled(
        source="/tandem/events/test", subject=str(data.event_id), hub="organiser", data=data
    )


def cancelled(scheduled: MeetingScheduled) -> MeetingCancelled:
    fields = scheduled.data.model_dump(exclude={"table", "location", "online", "version"})
    data = MeetingCancelledData(**fields, version=2, reason="partner withdrew")
    return MeetingCancelled(
        source=scheduled.source, subject=scheduled.subject, hub=scheduled.hub, data=data
    )


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no {subtype} part"
    content: str = part.get_content()
    return content
