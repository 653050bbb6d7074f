"""Email and webhook delivery over the real broker and PostgreSQL, to a real SMTP server
(aiosmtpd) and a real HTTP endpoint: recipients from subscriptions, languages, the meeting
invite, signatures, no duplicates, retries, failures, digest, caps and quiet hours."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_notifier.app import create_app
from tandem_notifier.delivery import DeliveryWorker
from tandem_notifier.domain.signing import verify
from tandem_notifier.live import FeedSignal, delivery_signal
from tandem_notifier.service.digests import build_digests
from tandem_notifier.service.fanout import Signals
from tandem_notifier.service.matches import on_matches
from tandem_notifier.settings import NotifierSettings
from tandem_shared.auth import Role
from tandem_shared.contracts import (
    EVENTS,
    MATCHES,
    MEETINGS,
    EventData,
    EventKind,
    EventScheduled,
    MatchSuggested,
    OrgKind,
    Sharing,
)
from tandem_shared.db import create_engine, create_sessionmaker, transaction
from tests.support import bearer, eventually, service_settings
from tests.support.channels import SmtpServer, webhook_receiver
from tests.support.notifier import (
    SECRET,
    Notifier,
    a_match,
    body,
    cancelled,
    known_profiles,
    match_of,
    meeting,
    notifier_settings,
    profile,
)
from tests.support.served import served

pytestmark = pytest.mark.integration


async def test_subscribers_get_the_match_by_email_in_their_language_once(
    notifier: Notifier,
) -> None:
    # A pair across hubs: both shared with the network (the matcher pairs nothing else).
    museum = profile("demo", "Muzeum <Rzeszów>", OrgKind.HERITAGE, ["museum"], Sharing.NETWORK)
    studio = profile("elsewhere", "Scanwerk Studio", OrgKind.CREATIVE, ["ar_vr"], Sharing.NETWORK)
    await known_profiles(notifier, museum, studio)
    await notifier.staff(
        "anna@demo.example", language="pl", subscriptions=[{"scope": "hub", "hub": "demo"}]
    )
    await notifier.staff(
        "sector@demo.example",
        language="sl",
        subscriptions=[{"scope": "sector", "kind": "creative", "subsector": "ar_vr"}],
    )
    await notifier.staff(
        "games@demo.example",
        subscriptions=[{"scope": "sector", "kind": "creative", "subsector": "games"}],
    )
    await notifier.staff("unsubscribed@demo.example")
    await notifier.staff(
        "karl@elsewhere.example",
        "elsewhere",
        language="de",
        subscriptions=[{"scope": "profile", "profile_id": str(studio.data.id)}],
    )
    match = match_of(museum, studio)
    await notifier.publish(MATCHES, match, match)  # the second is a redelivery

    (polish,) = await notifier.mail_to("anna@demo.example")
    assert polish["Subject"] == "Nowy partner: Muzeum <Rzeszów> ↔ Scanwerk Studio (82%)"
    assert polish["Content-Language"] == "pl"
    text = body(polish, "plain")
    html = body(polish, "html")
    assert "Dlaczego ta para: 3D digitisation <needed> and offered" in text
    assert "Muzeum <Rzeszów> potrzebuje — Scanwerk Studio oferuje" in text
    assert "digitalizacja 3D kolekcji" in text and "3D-Scans von Kulturgütern" in text
    assert "Muzeum &lt;Rzeszów&gt;" in html and "<Rzeszów>" not in html  # autoescaped
    (slovene,) = await notifier.mail_to("sector@demo.example")
    assert slovene["Subject"].startswith("Nov partner:")
    (german,) = await notifier.mail_to("karl@elsewhere.example")
    assert german["Subject"].startswith("Neuer Partnervorschlag:")
    assert "Warum diese beiden" in body(german, "plain")

    async def all_sent() -> list[dict[str, Any]] | None:
        rows = await notifier.deliveries(channel="email")
        return rows if rows and all(r["status"] == "sent" for r in rows) else None

    rows = await eventually(all_sent, what="the demo emails sent")
    assert sorted(r["recipient"] for r in rows) == ["anna@demo.example", "sector@demo.example"]
    await notifier.publish(MATCHES, match)  # once more, after everything was sent
    feed_auth = bearer(notifier.settings, "demo", subject="anna@demo.example")
    feed = (await notifier.client.get("/v1/notifications", headers=feed_auth)).json()["items"]
    assert len(feed) == 1  # the hub feed stays, once
    assert len(notifier.smtp.messages) == 3
    assert not notifier.smtp.to("games@demo.example")
    assert not notifier.smtp.to("unsubscribed@demo.example")


async def test_a_profile_subscription_hears_only_of_pairs_its_hub_may_see(
    notifier: Notifier,
) -> None:
    """north follows south's network-shared studio. Its match with south's hub-only
    workshop (allowed inside south) must not reach north: the email would name the workshop
    and quote its need. Its match with north's shared museum does reach north."""
    studio = profile("south", "Studio Süd", OrgKind.CREATIVE, [], Sharing.NETWORK)
    secret = profile("south", "Geheime Werkstatt", OrgKind.INDUSTRY, [])
    museum = profile("north", "Muzeum Północ", OrgKind.HERITAGE, [], Sharing.NETWORK)
    await known_profiles(notifier, studio, secret, museum)
    follows = [{"scope": "profile", "profile_id": str(studio.data.id)}]
    await notifier.staff("anna@north.example", "north", subscriptions=follows)
    await notifier.staff("jonas@south.example", "south", subscriptions=follows)

    await notifier.publish(MATCHES, match_of(studio, secret))
    (inside,) = await notifier.mail_to("jonas@south.example")  # its own hub's pair
    assert "Geheime Werkstatt" in inside["Subject"]
    await notifier.publish(MATCHES, match_of(studio, museum))
    (shared,) = await notifier.mail_to("anna@north.example")
    assert "Muzeum Północ" in shared["Subject"]
    await notifier.mail_to("jonas@south.example", count=2)
    # Both matches were consumed in order, so north has heard all it ever will.
    north = notifier.smtp.to("anna@north.example")
    assert len(north) == 1 and all("Geheime Werkstatt" not in str(mail) for mail in north)


async def test_meeting_changes_email_everyone_concerned_with_the_invite(
    notifier: Notifier,
) -> None:
    await notifier.staff(
        "desk@elsewhere.example", "elsewhere", language="de", delivery="daily_digest"
    )
    await notifier.staff("boss@organiser.example", "organiser", quiet_hours=_quiet_now())
    await notifier.staff("bystander@third.example", "third")
    scheduled = meeting()
    await notifier.publish(MEETINGS, scheduled)
    (invite,) = await notifier.mail_to("desk@elsewhere.example")  # digest chosen, yet at once
    (organiser,) = await notifier.mail_to("boss@organiser.example")  # quiet hours, yet at once
    assert (
        invite["Subject"]
        == "Treffen geplant: an organisation ↔ an organisation — Matchmaking Forum Kraków"
    )
    assert "Hall B, table 7" in body(invite, "plain")
    request = _calendar(invite)
    assert request["METHOD"] == "REQUEST"
    (event,) = request.walk("VEVENT")
    assert str(event["UID"]) == f"{scheduled.data.id}@tandem.meetings"
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").hour == 10  # 09:00 UTC in Warsaw
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Warsaw"
    assert "desk@elsewhere.example" in str(event["ATTENDEE"])

    await notifier.publish(MEETINGS, cancelled(scheduled))
    cancellation = (await notifier.mail_to("desk@elsewhere.example", 2))[1]
    assert cancellation["Subject"].startswith("Treffen abgesagt:")
    cancel = _calendar(cancellation)
    assert cancel["METHOD"] == "CANCEL"
    (cancelled_event,) = cancel.walk("VEVENT")
    assert str(cancelled_event["UID"]) == str(event["UID"])
    assert cancelled_event["SEQUENCE"] == 2 and str(cancelled_event["STATUS"]) == "CANCELLED"
    assert not notifier.smtp.to("bystander@third.example")
    assert organiser["Subject"].startswith("Meeting scheduled:")


def _calendar(message: EmailMessage) -> Calendar:
    (attachment,) = [
        p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert attachment.get_filename() == "invite.ics"
    return Calendar.from_ical(attachment.get_content())


def _quiet_now() -> dict[str, str]:
    """Quiet hours (UTC) around the current instant."""
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=2)).time()
    return {"start": start.isoformat("minutes"), "end": end.isoformat("minutes"), "timezone": "UTC"}


async def test_webhooks_are_signed_and_retried_until_accepted(notifier: Notifier) -> None:
    admin = bearer(notifier.settings, "demo", Role.HUB_ADMIN, subject="admin@demo.example")
    async with webhook_receiver() as receiver:
        receiver.answers = [500, 503]
        # By name: each send resolves `localhost` once and connects to an address it checked.
        url = receiver.named("localhost")
        wanted = {"url": url, "secret": SECRET, "enabled": True}
        response = await notifier.client.put("/v1/webhooks", json=wanted, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["secret_set"] is True and "secret" not in response.json()
        match = a_match()
        await notifier.publish(MATCHES, match, match)

        async def accepted() -> list[dict[str, Any]] | None:
            rows = await notifier.deliveries(channel="webhook", status="sent")
            return rows or None

        (row,) = await eventually(accepted, what="the webhook accepted")
        assert row["attempts"] == 3
        assert len(receiver.requests) == 3
        for headers, body in receiver.requests:
            assert headers["host"] == urlsplit(url).netloc  # the name, not the address
            timestamp = int(headers["x-tandem-timestamp"])
            assert verify(SECRET, timestamp, body, headers["x-tandem-signature"])
            assert headers["x-tandem-delivery"] == row["id"]
            assert not verify(
                "a-different-secret-value", timestamp, body, headers["x-tandem-signature"]
            )
        document = json.loads(receiver.requests[-1][1])
        assert document["type"] == "match.suggested"
        assert document["data"]["match"]["pair_id"] == match.data.pair_id
    staff = bearer(notifier.settings, "demo", subject="staff@demo.example")
    assert (await notifier.client.get("/v1/webhooks", headers=staff)).status_code == 403
    assert (await notifier.client.get("/v1/deliveries", headers=staff)).status_code == 403


async def test_webhook_targets_on_private_addresses_are_refused(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    settings = service_settings(
        NotifierSettings, database_url=clean_databases["notifier"], kafka=kafka, prefix=topic_prefix
    )
    admin = bearer(settings, "demo", Role.HUB_ADMIN, subject="admin@demo.example")
    async with (
        served(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        for url in (
            "https://127.0.0.1/hook",
            "https://localhost:8443/hook",
            "https://[::1]/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://224.0.0.1/hook",
            "https://[::ffff:192.168.0.1]/hook",
            "http://93.184.215.14/hook",  # public, but plain http
            "ftp://example.org/hook",
            "https://user:pw@93.184.215.14/hook",
        ):
            wanted = {"url": url, "secret": SECRET}
            response = await client.put("/v1/webhooks", json=wanted, headers=admin)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["detail"][0]["loc"] == ["body", "url"]
            assert response.json()["detail"][0]["type"] == "unsafe_target"
        assert (await client.get("/v1/webhooks", headers=admin)).json()["url"] is None


async def test_an_smtp_outage_is_retried_until_sent_then_failed_after_n(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    smtp = SmtpServer()  # not listening yet: an outage
    settings = notifier_settings(clean_databases, kafka, topic_prefix, smtp)
    app = create_app(settings)
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        notifier = Notifier(app, client, settings, kafka, smtp)
        await notifier.staff("anna@demo.example")
        await notifier.publish(MEETINGS, meeting())

        async def retrying() -> list[dict[str, Any]] | None:
            rows = await notifier.deliveries(status="pending")
            return rows if rows and rows[0]["attempts"] >= 1 and rows[0]["last_error"] else None

        await eventually(retrying, what="a failed first attempt")
        smtp.start()
        try:
            await notifier.mail_to("anna@demo.example")

            async def sent() -> list[dict[str, Any]] | None:
                return await notifier.deliveries(status="sent") or None

            (row,) = await eventually(sent, what="the email marked sent")
            assert row["attempts"] >= 2
        finally:
            smtp.stop()

        await notifier.publish(MEETINGS, meeting())  # the server is down again, for good

        async def failed() -> list[dict[str, Any]] | None:
            return await notifier.deliveries(status="failed") or None

        (gave_up,) = await eventually(failed, what="the email marked failed")
        assert gave_up["attempts"] == settings.delivery_max_attempts
        assert gave_up["last_error"]
        network = bearer(settings, "net", Role.NETWORK_ADMIN, subject="root@net.example")
        everything = await client.get(
            "/v1/deliveries", params={"status": "failed"}, headers=network
        )
        assert [r["id"] for r in everything.json()["items"]] == [gave_up["id"]]
        other_hub = await notifier.deliveries("other", status="failed")
        assert other_hub == []
        bad = await client.get("/v1/deliveries", params={"status": "lost"}, headers=network)
        assert bad.status_code == 422


async def test_digest_groups_held_alerts_by_profile_once_a_day(notifier: Notifier) -> None:
    museum = profile("demo", "Muzeum", OrgKind.HERITAGE, [])
    archive = profile("demo", "Archiwum", OrgKind.HERITAGE, [])
    partners = [profile("elsewhere", f"Partner {n}", OrgKind.CREATIVE, []) for n in range(3)]
    await known_profiles(notifier, museum, archive, *partners)
    await notifier.staff(
        "anna@demo.example",
        language="pl",
        delivery="daily_digest",
        subscriptions=[{"scope": "hub", "hub": "demo"}],
    )
    matches = [
        match_of(museum, partners[0]),
        match_of(partners[1], museum),
        match_of(archive, partners[2], 0.6),
    ]
    await notifier.publish(MATCHES, *matches)

    async def held() -> list[dict[str, Any]] | None:
        rows = await notifier.deliveries(status="digested")
        return rows if len(rows) == 3 else None

    await eventually(held, what="three alerts held for the digest")
    assert notifier.smtp.messages == []
    sessionmaker = notifier.app.state.runtime.sessionmaker
    tomorrow_noon = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0)
    early = tomorrow_noon.replace(hour=5)  # before the digest hour (08:00 UTC)
    async with transaction(sessionmaker) as session:
        assert await build_digests(session, early, notifier.settings) == []
    async with transaction(sessionmaker) as session:
        built = await build_digests(session, tomorrow_noon, notifier.settings)
    async with transaction(sessionmaker) as session:
        assert await build_digests(session, tomorrow_noon, notifier.settings) == []  # once a day
    assert len(built) == 1
    # The digest is due at the test's "now" (tomorrow): send it with the worker at that clock.
    runtime = notifier.app.state.runtime
    worker = DeliveryWorker(sessionmaker, notifier.settings, delivery_signal(runtime))
    assert await worker.run_once(now=tomorrow_noon) == 1
    (digest,) = await notifier.mail_to("anna@demo.example")
    assert digest["Subject"] == f"Twoje podsumowanie Tandem z dnia {tomorrow_noon.date()}"
    assert digest["List-Unsubscribe"].startswith(f"<{notifier.settings.public_url}/v1/unsub")
    lines = [line.strip() for line in body(digest, "plain").splitlines()]
    archive_at, museum_at = lines.index("Archiwum"), lines.index("Muzeum")
    assert archive_at < museum_at  # one group per own profile, by name
    assert [line for line in lines[archive_at:museum_at] if line.startswith("- ")] == [
        "- Partner 2 (60%): 3D digitisation <needed> and offered"
    ]
    museum_items = [line for line in lines[museum_at:] if line.startswith("- ")]
    assert sorted(item.split(" (")[0] for item in museum_items) == ["- Partner 0", "- Partner 1"]


async def test_the_daily_cap_holds_the_rest_and_quiet_hours_defer(notifier: Notifier) -> None:
    quiet = _quiet_now()
    await notifier.staff(
        "capped@demo.example", daily_cap=1, subscriptions=[{"scope": "hub", "hub": "demo"}]
    )
    await notifier.staff(
        "sleeping@demo.example",
        quiet_hours=quiet,
        subscriptions=[{"scope": "hub", "hub": "demo"}],
    )
    first, second = a_match(), a_match()
    await notifier.publish(MATCHES, first)
    await notifier.mail_to("capped@demo.example")
    await notifier.publish(MATCHES, second)

    async def settled() -> list[dict[str, Any]] | None:
        rows = await notifier.deliveries(channel="email")
        return rows if len(rows) == 4 else None

    rows = await eventually(settled, what="four email deliveries")
    capped = {r["subject"]: r for r in rows if r["recipient"] == "capped@demo.example"}
    assert capped[first.data.pair_id]["status"] == "sent"
    assert capped[second.data.pair_id]["status"] == "digested"
    assert "cap" in capped[second.data.pair_id]["last_error"]
    sleeping = [r for r in rows if r["recipient"] == "sleeping@demo.example"]
    assert {r["status"] for r in sleeping} == {"pending"}
    assert all(r["attempts"] == 0 and r["last_error"] == "quiet hours" for r in sleeping)
    quiet_end = time.fromisoformat(quiet["end"])
    today = datetime.now(UTC).date()
    end_today = datetime.combine(today, quiet_end, tzinfo=UTC)
    expected = end_today if end_today > datetime.now(UTC) else end_today + timedelta(days=1)
    assert {datetime.fromisoformat(r["next_attempt_at"]) for r in sleeping} == {expected}
    assert not notifier.smtp.to("sleeping@demo.example")
    assert len(notifier.smtp.to("capped@demo.example")) == 1


async def test_the_daily_cap_counts_the_alerts_of_one_batch(notifier: Notifier) -> None:
    """Three alerts handled together (one run of the batched handler) against a cap of 2."""
    await notifier.staff(
        "capped@demo.example", daily_cap=2, subscriptions=[{"scope": "hub", "hub": "demo"}]
    )
    matches = [a_match() for _ in range(3)]
    signals = Signals(feed=FeedSignal(), deliveries=FeedSignal())
    async with _sessions(notifier) as sessionmaker, transaction(sessionmaker) as session:
        await on_matches(session, matches, signals)
    rows = await notifier.deliveries(channel="email")
    statuses = sorted(r["status"] for r in rows if r["recipient"] == "capped@demo.example")
    assert len(statuses) == 3
    assert statuses.count("digested") == 1  # pending or already sent: the other two


async def test_concurrent_consumers_cannot_both_take_the_last_slot_of_a_cap(
    notifier: Notifier,
) -> None:
    await notifier.staff(
        "capped@demo.example", daily_cap=1, subscriptions=[{"scope": "hub", "hub": "demo"}]
    )
    first, second = a_match(), a_match()
    signals = Signals(feed=FeedSignal(), deliveries=FeedSignal())

    async def handle(sessionmaker: Any, message: MatchSuggested) -> None:
        async with transaction(sessionmaker) as session:
            await on_matches(session, [message], signals)

    async with _sessions(notifier) as sessionmaker:
        async with transaction(sessionmaker) as session:
            await on_matches(session, [first], signals)
            racing = asyncio.create_task(handle(sessionmaker, second))
            await asyncio.sleep(0.5)
            # It waits for the recipient's lock, which the open transaction holds.
            assert not racing.done()
        await racing
    rows = await notifier.deliveries(channel="email")
    status = {r["subject"]: r["status"] for r in rows if r["recipient"] == "capped@demo.example"}
    assert status[first.data.pair_id] in ("pending", "sent")
    assert status[second.data.pair_id] == "digested"


@asynccontextmanager
async def _sessions(notifier: Notifier) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(notifier.settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_scheduled_events_reach_subscribers_of_their_sectors(notifier: Notifier) -> None:
    await notifier.staff(
        "maker@demo.example", language="sl", subscriptions=[{"scope": "sector", "kind": "industry"}]
    )
    await notifier.staff(
        "curator@demo.example", subscriptions=[{"scope": "sector", "kind": "heritage"}]
    )
    starts = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
    data = EventData(
        id=uuid.uuid4(),
        hub="organiser",
        version=1,
        title="Industry meets Design",
        kind=EventKind.WORKSHOP,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        timezone="Europe/Ljubljana",
        venue="Cankarjev dom",
        sectors=[OrgKind.INDUSTRY, OrgKind.CREATIVE],
    )
    await notifier.publish(
        EVENTS,
        EventScheduled(
            source="/tandem/events/test", subject=str(data.id), hub="organiser", data=data
        ),
    )
    (mail,) = await notifier.mail_to("maker@demo.example")
    assert mail["Subject"] == "Nov dogodek za vaše sektorje: Industry meets Design"
    assert "Cankarjev dom" in body(mail, "plain")
    assert "09:00" in body(mail, "plain")  # in the event's zone
    assert not notifier.smtp.to("curator@demo.example")


async def test_email_channel_needs_an_address(notifier: Notifier) -> None:
    auth = bearer(notifier.settings, "demo", subject="service-account")
    response = await notifier.client.put(
        "/v1/preferences", json={"channels": ["email"]}, headers=auth
    )
    assert response.status_code == 422 and "address" in response.text
    explicit = {"channels": ["email"], "email": "desk@demo.example"}
    response = await notifier.client.put("/v1/preferences", json=explicit, headers=auth)
    assert response.status_code == 200 and response.json()["email"] == "desk@demo.example"
    bad = await notifier.client.put(
        "/v1/preferences", json={"email": "not an address"}, headers=auth
    )
    assert bad.status_code == 422


async def test_a_restart_resumes_pending_deliveries(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> None:
    smtp = SmtpServer()  # down while the first process runs
    settings = notifier_settings(clean_databases, kafka, topic_prefix, smtp)
    # No retry soon: the base AND the cap (the shared settings cap backoff at 1 s, which let
    # the second process's own worker resend before the test's explicit run).
    settings = settings.model_copy(
        update={"delivery_backoff_seconds": 60.0, "delivery_backoff_max_seconds": 3600.0}
    )
    first = create_app(settings)
    async with (
        served(first) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        notifier = Notifier(first, client, settings, kafka, smtp)
        await notifier.staff("anna@demo.example")
        await notifier.publish(MEETINGS, meeting())

        async def tried() -> list[dict[str, Any]] | None:
            rows = await notifier.deliveries(status="pending")
            return rows if rows and rows[0]["attempts"] == 1 else None

        (row,) = await eventually(tried, what="a first failed attempt")
    smtp.start()
    try:
        # A new process on the same database: the row is due at its backoff; make it due now
        # (as a later clock would) and let the new worker pick it up.
        second = create_app(settings)
        async with (
            served(second) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            notifier = Notifier(second, client, settings, kafka, smtp)
            worker = DeliveryWorker(
                second.state.runtime.sessionmaker, settings, delivery_signal(second.state.runtime)
            )
            later = datetime.now(UTC) + timedelta(seconds=61)
            assert await worker.run_once(now=later) == 1
            (mail,) = await notifier.mail_to("anna@demo.example")
            assert mail["X-Tandem-Delivery"] == row["id"]
            (sent,) = await notifier.deliveries(status="sent")
            assert sent["id"] == row["id"] and sent["attempts"] == 2
    finally:
        smtp.stop()
