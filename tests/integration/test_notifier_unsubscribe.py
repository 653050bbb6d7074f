"""One-click unsubscribe end to end, over the real broker and PostgreSQL, to a real SMTP
server (aiosmtpd): the link and RFC 8058 headers as received, the page a GET shows (no
change), the POST that stops one person's email only, forged links, and meeting emails
(transactional) without any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tandem_notifier.mail import unsubscribe_url
from tandem_notifier.service.digests import build_digests
from tandem_shared.contracts import MATCHES, MEETINGS
from tandem_shared.db import transaction
from tests.support import bearer, eventually
from tests.support.notifier import (
    Notifier,
    a_match,
    body,
    meeting,
)

pytestmark = pytest.mark.integration

ONE_CLICK = {"List-Unsubscribe": "One-Click"}  # the body RFC 8058 mailbox providers POST


def link_of(notifier: Notifier, header: str) -> tuple[str, str]:
    """The (path?query, token) of a `List-Unsubscribe: <url>` header; the URL must start
    with the notifier's public URL (the test server itself listens elsewhere)."""
    assert header.startswith("<") and header.endswith(">"), header
    url = header[1:-1]
    assert url.startswith(f"{notifier.settings.public_url}/v1/unsubscribe?token=")
    parts = urlsplit(url)
    (token,) = parse_qs(parts.query)["token"]
    return f"{parts.path}?{parts.query}", token


async def channels(notifier: Notifier, subject: str) -> list[str]:
    auth = bearer(notifier.settings, "demo", subject=subject)
    response = await notifier.client.get("/v1/preferences", headers=auth)
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["channels"]
    return found


async def test_one_click_unsubscribe_stops_email_for_that_person_only(
    notifier: Notifier,
) -> None:
    hub = [{"scope": "hub", "hub": "demo"}]
    await notifier.staff("anna@demo.example", language="pl", subscriptions=hub)
    await notifier.staff("bob@demo.example", subscriptions=hub)
    await notifier.publish(MATCHES.name, a_match())
    (alert,) = await notifier.mail_to("anna@demo.example")
    (bobs,) = await notifier.mail_to("bob@demo.example")

    header = alert["List-Unsubscribe"]
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (raw,) = notifier.smtp.raw_to("anna@demo.example")
    assert f"\r\nList-Unsubscribe: {header}\r\n".encode() in raw  # one line, not encoded
    url = header[1:-1]
    assert f"Zrezygnuj z tych wiadomości: {url}" in body(alert, "plain")
    assert f'<a href="{url}">Zrezygnuj z tych wiadomości</a>' in body(alert, "html")
    link, token = link_of(notifier, header)

    # A GET (a link scanner, or the person) only asks, in their language.
    page = await notifier.client.get(link)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Rezygnacja z e-maili Tandem" in page.text and "anna@demo.example" in page.text
    assert '<form method="post"' in page.text
    assert await channels(notifier, "anna@demo.example") == ["feed", "email"]

    # A forged link (Bob's name under Anna's signature) is refused and changes nothing.
    header_, _, signature = token.split(".")
    bobs_claims = link_of(notifier, bobs["List-Unsubscribe"])[1].split(".")[1]
    forged = f"{header_}.{bobs_claims}.{signature}"
    refused = await notifier.client.post(
        "/v1/unsubscribe", params={"token": forged}, data=ONE_CLICK
    )
    assert refused.status_code == 400 and "not valid" in refused.text
    garbage = await notifier.client.post("/v1/unsubscribe?token=nonsense", data=ONE_CLICK)
    assert garbage.status_code == 400
    assert (await notifier.client.get("/v1/unsubscribe?token=nonsense")).status_code == 400
    assert await channels(notifier, "bob@demo.example") == ["feed", "email"]
    assert await channels(notifier, "anna@demo.example") == ["feed", "email"]

    # The one-click POST stops Anna's email; doing it again is the same answer.
    for _ in range(2):
        done = await notifier.client.post(link, data=ONE_CLICK)
        assert done.status_code == 200, done.text
        assert "Tandem nie wysyła już e-maili na adres anna@demo.example" in done.text
        assert await channels(notifier, "anna@demo.example") == ["feed"]
    assert await channels(notifier, "bob@demo.example") == ["feed", "email"]
    after = await notifier.client.get(link)  # the page now says it is done, with no form
    assert after.status_code == 200 and "<form" not in after.text

    second = a_match()
    await notifier.publish(MATCHES.name, second)
    await notifier.mail_to("bob@demo.example", 2)
    rows = await notifier.deliveries(channel="email")
    # Deliveries are written in the consumer's transaction: Bob's is there, so Anna's
    # would be too.
    assert {r["recipient"] for r in rows if r["subject"] == second.data.pair_id} == {
        "bob@demo.example"
    }
    assert len(notifier.smtp.to("anna@demo.example")) == 1


async def test_unsubscribing_drops_alerts_held_for_a_digest(notifier: Notifier) -> None:
    await notifier.staff(
        "anna@demo.example",
        delivery="daily_digest",
        subscriptions=[{"scope": "hub", "hub": "demo"}],
    )
    await notifier.publish(MATCHES.name, a_match())

    async def held() -> list[dict[str, Any]] | None:
        return await notifier.deliveries(status="digested") or None

    (row,) = await eventually(held, what="an alert held for the digest")
    # Her link would come with the digest: sign it as the delivery worker does.
    link, _ = link_of(
        notifier, f"<{unsubscribe_url(notifier.settings, 'demo', 'anna@demo.example')}>"
    )
    assert (await notifier.client.post(link, data=ONE_CLICK)).status_code == 200
    (suppressed,) = await notifier.deliveries(status="suppressed")
    assert suppressed["id"] == row["id"] and suppressed["last_error"] == "unsubscribed from email"
    tomorrow_noon = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0)
    async with transaction(notifier.app.state.runtime.sessionmaker) as session:
        assert await build_digests(session, tomorrow_noon, notifier.settings) == []


async def test_meeting_emails_carry_no_unsubscribe(notifier: Notifier) -> None:
    await notifier.staff("anna@demo.example", language="de")
    await notifier.publish(MEETINGS.name, meeting())
    (invite,) = await notifier.mail_to("anna@demo.example")
    assert invite["List-Unsubscribe"] is None and invite["List-Unsubscribe-Post"] is None
    assert "/v1/unsubscribe" not in body(invite, "plain")
    assert "abbestellen" not in body(invite, "html")
