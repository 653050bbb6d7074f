"""The dev stack's mail catcher (`make run`): the notifier's real SMTP client sends to it,
its HTTP endpoint lists what it kept, and the console's "Sent mail (dev)" page shows it,
only when the catcher's URL is configured."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import jwt
import pytest
from itsdangerous import TimestampSigner

from tandem_console.app import SESSION_COOKIE, create_app
from tandem_console.settings import DEV_SESSION_SECRET, ConsoleSettings
from tandem_notifier import mail
from tandem_notifier.settings import NotifierSettings
from tandem_shared.broker import free_port
from tandem_tools.mailcatcher import MailCatcher
from tests.support import running

pytestmark = pytest.mark.integration


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    started = MailCatcher(smtp_port=free_port(), http_port=free_port()).start()
    try:
        yield started
    finally:
        started.stop()


def _email(subject: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Tandem <notifications@tandem.local>"
    message["To"] = to
    message.set_content("Muzeum Okręgowe w Rzeszowie pasuje do Scanwerk.\n")
    message.add_alternative("<p>Muzeum Okręgowe w Rzeszowie</p>", subtype="html")
    message.add_attachment(
        b"BEGIN:VCALENDAR", maintype="text", subtype="calendar", filename="invite.ics"
    )
    return message


async def _send(catcher: MailCatcher, message: EmailMessage) -> None:
    settings = NotifierSettings(smtp_host=catcher.host, smtp_port=catcher.smtp_port)
    await mail.send(settings, message)


async def test_the_catcher_keeps_what_the_notifier_sends_and_lists_it(
    catcher: MailCatcher,
) -> None:
    await _send(catcher, _email("Nowe dopasowanie: Scanwerk", "anna@muzeum.example"))
    await _send(catcher, _email("Second", "jan@studio.example"))
    async with httpx.AsyncClient() as client:
        listing = await client.get(catcher.url)
        elsewhere = await client.get(catcher.url.replace("/messages", "/other"))
    assert listing.status_code == 200
    newest, oldest = listing.json()["items"]
    assert newest["subject"] == "Second" and newest["to"] == ["jan@studio.example"]
    assert oldest["subject"] == "Nowe dopasowanie: Scanwerk"
    assert oldest["mail_from"] == "notifications@tandem.local"
    assert oldest["text"] == "Muzeum Okręgowe w Rzeszowie pasuje do Scanwerk.\n"
    assert oldest["attachments"] == ["invite.ics"]
    assert elsewhere.status_code == 404


def _signed_in_cookie() -> str:
    """A session as the console's sign-in leaves it (Starlette's signed cookie holding the
    registry's token; the console reads the token's claims, the services verify it)."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    claims = {"sub": "admin@demo.local", "hub": "demo", "role": "hub_admin", "exp": expires}
    token = jwt.encode(claims, "the-console-does-not-verify-tokens", algorithm="HS256")
    data = b64encode(json.dumps({"token": token}).encode())
    return TimestampSigner(DEV_SESSION_SECRET).sign(data).decode()


def _console(dev_mail_url: str | None) -> ConsoleSettings:
    # No service listens behind it: the page needs none (the unread badge stays empty).
    nowhere = {
        f"{name}_url": f"http://127.0.0.1:{free_port()}"
        for name in ("registry", "matcher", "events", "notifier")
    }
    return ConsoleSettings(dev_mail_url=dev_mail_url, **nowhere)  # type: ignore[arg-type]


async def test_the_console_shows_the_sent_mail_page_only_with_a_catcher(
    catcher: MailCatcher,
) -> None:
    await _send(catcher, _email("Nowe dopasowanie: Scanwerk", "anna@muzeum.example"))
    cookies = {SESSION_COOKIE: _signed_in_cookie()}
    async with running(create_app(_console(catcher.url))) as client:
        client.cookies.update(cookies)
        page = await client.get("/dev/mail", headers={"Accept-Language": "pl"})
    assert page.status_code == 200, page.text
    assert "<h1>Wysłana poczta (dev)</h1>" in page.text
    assert "Nowe dopasowanie: Scanwerk" in page.text and "anna@muzeum.example" in page.text
    assert "Muzeum Okręgowe w Rzeszowie pasuje do Scanwerk." in page.text
    assert 'href="/dev/mail" aria-current="page"' in page.text

    async with running(create_app(_console(None))) as client:
        client.cookies.update(cookies)
        gone = await client.get("/dev/mail")
        settings = await client.get("/settings")
    assert gone.status_code == 404
    assert 'href="/settings"' in settings.text  # the navigation is there, without the link
    assert 'href="/dev/mail"' not in settings.text


async def test_the_page_says_so_when_the_catcher_does_not_answer() -> None:
    silent = f"http://127.0.0.1:{free_port()}/messages"
    async with running(create_app(_console(silent))) as client:
        client.cookies.update({SESSION_COOKIE: _signed_in_cookie()})
        page = await client.get("/dev/mail")
    assert page.status_code == 200
    assert f"The dev mail catcher does not answer at {silent}." in page.text
