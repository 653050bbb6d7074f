"""One-click unsubscribe and event notices, the pure parts: signed tokens (and forgeries),
the production guard on their secret, the RFC 8058 headers of an email as it goes on the
wire, what changed between two versions of an event, and the digest's event lines."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import jwt
import pytest
from aiosmtplib.email import flatten_message
from pydantic import ValidationError

from tandem_notifier import mail
from tandem_notifier.domain import unsubscribe
from tandem_notifier.domain.digest import held_events
from tandem_notifier.domain.events import audience_sectors, event_changes
from tandem_notifier.domain.preferences import Preferences, without_channel
from tandem_notifier.settings import DEV_UNSUBSCRIBE_SECRET, NotifierSettings
from tandem_shared.auth import InvalidToken, Principal, Role
from tandem_shared.contracts import OrgKind
from tandem_shared.identity.tokens import TokenVerifier, issue_token
from tests.support import TEST_ISSUER, TEST_SIGNING_KEY, sample_event

pytestmark = pytest.mark.unit

SECRET = "unsubscribe-secret-0123456789-abcdefghij"
ANNA = unsubscribe.Unsubscribe(hub="demo", subject="anna@demo.example")


# ------------------------------------------------------------------------------ tokens


def test_a_token_names_who_stops_what_and_never_changes() -> None:
    token = unsubscribe.sign(SECRET, ANNA)
    assert unsubscribe.verify(SECRET, token) == ANNA
    assert unsubscribe.verify(SECRET, token).channel == "email"
    assert unsubscribe.sign(SECRET, ANNA) == token  # no clock in it: the link is stable
    other = unsubscribe.sign(SECRET, unsubscribe.Unsubscribe(hub="demo", subject="bob@x"))
    assert other != token


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def _with_claims(token: str, **changes: Any) -> str:
    """The same header and signature around altered claims (what a forger can do)."""
    header, _, signature = token.split(".")
    body = json.dumps({**_claims(token), **changes}, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _bad_tokens() -> dict[str, str]:
    token = unsubscribe.sign(SECRET, ANNA)
    unsigned = jwt.encode(_claims(token), key="", algorithm="none")
    return {
        "another person, same signature": _with_claims(token, sub="bob@demo.example"),
        "another hub, same signature": _with_claims(token, hub="elsewhere"),
        "signed with another secret": unsubscribe.sign("another-secret-0123456789-abcdefg", ANNA),
        "signed with the secret itself, not the derived key": jwt.encode(
            _claims(token), SECRET, algorithm="HS256"
        ),
        "alg none": unsigned,
        "truncated": token[:-5],
        "empty": "",
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("case", sorted(_bad_tokens()))
def test_a_forged_or_damaged_token_is_refused(case: str) -> None:
    with pytest.raises(unsubscribe.InvalidToken):
        unsubscribe.verify(SECRET, _bad_tokens()[case])


def test_a_validly_signed_token_must_stop_the_email_channel() -> None:
    signer = unsubscribe._signer(SECRET)
    for stop in ("feed", None):
        token = signer.sign({"hub": "demo", "sub": "anna@demo.example", "stop": stop})
        with pytest.raises(unsubscribe.InvalidToken):
            unsubscribe.verify(SECRET, token)


async def test_unsubscribe_and_bearer_tokens_never_pass_for_each_other() -> None:
    """A bearer token (asymmetric, from a trusted issuer) is no unsubscribe link, and a link
    (HMAC under the notifier's own secret) is no bearer token."""
    bearer = issue_token(
        Principal(subject="anna@demo.example", hub="demo", role=Role.STAFF),
        key=TEST_SIGNING_KEY,
        issuer=TEST_ISSUER.issuer,
    )
    with pytest.raises(unsubscribe.InvalidToken):
        unsubscribe.verify(SECRET, bearer)
    verifier = TokenVerifier.for_issuers([TEST_ISSUER], fetch=_no_fetch)
    assert (await verifier.verify(bearer)).subject == "anna@demo.example"  # the control
    with pytest.raises(InvalidToken):
        await verifier.verify(unsubscribe.sign(SECRET, ANNA))


async def _no_fetch(url: str) -> Any:
    raise AssertionError(f"static keys need no fetch ({url})")


def test_stopping_email_keeps_the_rest() -> None:
    both = Preferences(channels=["feed", "email"], language="de", daily_cap=3)
    stopped = without_channel(both, "email")
    assert stopped.channels == ["feed"]
    assert (stopped.language, stopped.daily_cap) == ("de", 3)
    assert without_channel(Preferences(channels=["email"]), "email").channels == ["feed"]
    assert without_channel(stopped, "email") == stopped


# ------------------------------------------------------------------------------ settings


def _prod(**overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "environment": "prod",
        "trusted_issuers": [TEST_ISSUER],
        "unsubscribe_secret": SECRET,
        "public_url": "https://notify.example.org/",
        **overrides,
    }
    return NotifierSettings(**values)


def test_production_takes_a_strong_secret_and_a_public_url() -> None:
    settings = _prod()
    assert settings.public_url == "https://notify.example.org"  # no trailing slash


@pytest.mark.parametrize(
    "overrides",
    [
        {"unsubscribe_secret": DEV_UNSUBSCRIBE_SECRET},
        {"unsubscribe_secret": "short-secret"},
        {"unsubscribe_secret": "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME"},
        {"public_url": "http://127.0.0.1:8004"},
        {"public_url": "https://CHANGE-ME.example.org"},
    ],
)
def test_production_refuses_dev_or_weak_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="TANDEM_NOTIFIER_"):
        _prod(**overrides)


def test_dev_defaults_work_and_the_public_url_must_be_http() -> None:
    settings = NotifierSettings(environment="dev")
    assert settings.unsubscribe_secret.get_secret_value() == DEV_UNSUBSCRIBE_SECRET
    assert settings.public_url == "http://127.0.0.1:8004"
    with pytest.raises(ValidationError, match="http"):
        NotifierSettings(environment="dev", public_url="notify.example.org/x")


# ------------------------------------------------------------------------------ email


def _alert_payload() -> dict[str, Any]:
    match = {
        "pair_id": "a:b",
        "score": 0.8,
        "explanation": {"summary": "both like 3D"},
    }
    return {"match": match, "name_a": "Muzeum", "name_b": "Studio"}


def test_an_alert_carries_one_click_unsubscribe_on_one_unfolded_line() -> None:
    settings = _prod(smtp_host="smtp.example.org")
    url = mail.unsubscribe_url(settings, "demo", "anna@demo.example")
    assert url.startswith("https://notify.example.org/v1/unsubscribe?token=")
    message = mail.build_message(
        settings,
        delivery_id="d-1",
        kind="match.suggested",
        payload=_alert_payload(),
        language="sl",
        to="anna@demo.example",
        unsubscribe_url=url,
    )
    wire = flatten_message(message)  # exactly what aiosmtplib sends
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in wire
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in wire
    received = message_from_bytes(wire, policy=email_policy.default)
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    assert f"Odjava od teh sporočil: {url}" in text.get_content()
    assert f'<a href="{url.replace("&", "&amp;")}">Odjava od teh sporočil</a>' in (
        html.get_content()
    )


def test_without_a_link_there_are_no_unsubscribe_headers_or_footer() -> None:
    message = mail.build_message(
        NotifierSettings(environment="dev"),
        delivery_id="d-2",
        kind="match.suggested",
        payload=_alert_payload(),
        language="en",
        to="anna@demo.example",
    )
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert b"unsubscribe" not in flatten_message(message).lower()


# ------------------------------------------------------------------------------ events


def test_event_changes_list_what_a_notice_shows_in_order() -> None:
    before = sample_event()
    later = before.starts_at + timedelta(days=1)
    moved = sample_event(
        version=2, starts_at=later, ends_at=later + timedelta(hours=3), venue="Hall"
    )
    assert event_changes(before, moved) == ["when", "where"]
    assert event_changes(before, sample_event(version=2, online=True, venue=None)) == ["where"]
    assert event_changes(before, sample_event(version=2, title="Design meets Industry")) == [
        "title"
    ]
    assert event_changes(before, sample_event(version=2, timezone="Europe/Vienna")) == ["when"]
    assert event_changes(before, sample_event(version=2)) == []  # e.g. only its sessions changed
    assert event_changes(None, moved) is None  # the version before was never seen


def test_an_update_reaches_the_sectors_it_had_and_has() -> None:
    before = sample_event(sectors=[OrgKind.INDUSTRY, OrgKind.HERITAGE])
    after = sample_event(version=2, sectors=[OrgKind.CREATIVE])
    assert audience_sectors(before, after) == ["creative", "heritage", "industry"]
    assert audience_sectors(None, after) == ["creative"]


def test_the_digest_lists_each_event_once_in_its_latest_state() -> None:
    first, second = sample_event(), sample_event(id=uuid.UUID(int=8), title="Forum")
    moved = sample_event(version=2, starts_at=first.starts_at + timedelta(days=60))
    entries: list[tuple[str, dict[str, Any]]] = [
        ("event.scheduled", {"event": first.model_dump(mode="json")}),
        ("event.scheduled", {"event": second.model_dump(mode="json")}),
        ("event.updated", {"event": moved.model_dump(mode="json"), "changes": ["when"]}),
        ("event.cancelled", {"event": second.model_dump(mode="json"), "reason": None}),
    ]
    listed = held_events(entries)
    assert [(e["title"], e["change"]) for e in listed] == [
        ("Forum", "cancelled"),
        ("Industry meets Design", "updated"),
    ]
    assert listed[1]["starts_at"] == moved.model_dump(mode="json")["starts_at"]
