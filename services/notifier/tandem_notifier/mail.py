"""Email: render a delivery's templates in the recipient's language and send it over SMTP.

Templates are Jinja2 (HTML autoescaped, text not) in `templates/`; their words come from
`domain.i18n`. Meeting emails carry the shared iCalendar invite (REQUEST or CANCEL).
Every non-transactional email carries a one-click unsubscribe link (RFC 8058 headers and a
footer link); transactional ones (meeting changes) do not."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tandem_notifier.domain import unsubscribe
from tandem_notifier.domain.events import NOTICES
from tandem_notifier.domain.i18n import strings
from tandem_notifier.settings import NotifierSettings
from tandem_shared.calendar import Method, calendar_bytes, meeting_entry
from tandem_shared.contracts import MeetingCancelledData, MeetingData

_TEMPLATE_OF = {
    "match.suggested": "match",
    "match.updated": "match",
    "match.withdrawn": "withdrawn",
    "meeting.scheduled": "meeting",
    "meeting.cancelled": "meeting",
    **dict.fromkeys(NOTICES, "event"),
    "digest": "digest",
}

# Shared with the web pages (`pages.py`): one environment, one template cache.
environment = Environment(
    loader=PackageLoader("tandem_notifier", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class _UnfoldedHeader(UnstructuredHeader, BaseHeader):
    """A header written on one line, never folded. Folding a long URL (an unsubscribe link
    is ~250 characters, over the 78 the SMTP policy folds at) turns it into RFC 2047
    encoded words, which mailbox providers do not decode in RFC 2369 List-* fields, so
    the one-click link would be lost. One line stays far below RFC 5322's 998 limit."""

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_headers = HeaderRegistry()
_headers.map_to_type("list-unsubscribe", _UnfoldedHeader)
POLICY = default_policy.clone(header_factory=_headers)


class PermanentEmailError(Exception):
    """A delivery that can never be sent as stored (retrying would not help)."""


def _when(starts_at: str, ends_at: str, zone: str) -> str:
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(starts_at).astimezone(tz)
    end = datetime.fromisoformat(ends_at).astimezone(tz)
    return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} ({zone})"


def _starts(starts_at: str, zone: str) -> str:
    start = datetime.fromisoformat(starts_at).astimezone(ZoneInfo(zone))
    return f"{start:%Y-%m-%d %H:%M} ({zone})"


def _match_view(kind: str, payload: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any]:
    match, a, b = payload["match"], payload["name_a"], payload["name_b"]
    explanation = match.get("explanation") or {}
    pairs = []
    for key, needer, offerer in (("a_needs_b_offers", a, b), ("b_needs_a_offers", b, a)):
        pair = explanation.get(key)
        if pair:
            label = t["needs_offers"].format(x=needer, y=offerer)
            pairs.append({"label": label, "need": pair["need"], "offer": pair["offer"]})
    score = f"{match['score']:.0%}"
    return {
        "subject": t[f"subject.{kind}"].format(a=a, b=b, score=score),
        "intro": t[f"intro.{kind}"],
        "a": a,
        "b": b,
        "score": score,
        "summary": explanation.get("summary", ""),
        "pairs": pairs,
    }


def _withdrawn_view(payload: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any]:
    a, b = payload["name_a"], payload["name_b"]
    return {
        "subject": t["subject.match.withdrawn"].format(a=a, b=b),
        "a": a,
        "b": b,
        "withdrawn": t["withdrawn"].format(reason=payload["withdrawal"]["reason"]),
    }


def _meeting_view(kind: str, payload: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any]:
    meeting, a, b = payload["meeting"], payload["name_a"], payload["name_b"]
    place = [meeting.get("location"), f"table {meeting['table']}" if meeting.get("table") else ""]
    where = ", ".join(p for p in place if p) or (t["online"] if meeting.get("online") else "")
    return {
        "subject": t[f"subject.{kind}"].format(a=a, b=b, event=meeting["event_title"]),
        "intro": t[kind],
        "a": a,
        "b": b,
        "event": meeting["event_title"],
        "when": _when(meeting["starts_at"], meeting["ends_at"], meeting["timezone"]),
        "where": where,
        "reason": meeting.get("reason") or "",
    }


def _event_view(kind: str, payload: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any]:
    """A new, changed or cancelled event: its (last known) time and place, plus what
    changed (when the earlier version was known) or why it was cancelled."""
    event = payload["event"]
    where = event.get("venue") or (t["online"] if event.get("online") else "")
    changes = ", ".join(t[f"change.{change}"] for change in payload.get("changes") or ())
    return {
        "subject": t[f"subject.{kind}"].format(event=event["title"]),
        "intro": t[kind],
        "event": event["title"],
        "when": _when(event["starts_at"], event["ends_at"], event["timezone"]),
        "where": where,
        "changes": changes,
        "reason": payload.get("reason") or "",
    }


def _view(kind: str, payload: Mapping[str, Any], t: Mapping[str, str]) -> dict[str, Any]:
    if kind in ("match.suggested", "match.updated"):
        return _match_view(kind, payload, t)
    if kind == "match.withdrawn":
        return _withdrawn_view(payload, t)
    if kind in ("meeting.scheduled", "meeting.cancelled"):
        return _meeting_view(kind, payload, t)
    if kind in NOTICES:
        return _event_view(kind, payload, t)
    events = [
        {
            "title": e["title"],
            "when": _starts(e["starts_at"], e["timezone"]),
            "change": t[f"digest.event.{e['change']}"] if e.get("change") else "",
        }
        for e in payload.get("events", [])
    ]
    return {
        "subject": t["subject.digest"].format(date=payload["date"]),
        "groups": payload["groups"],
        "events": events,
    }


def render(
    kind: str, payload: Mapping[str, Any], language: str, unsubscribe_url: str | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) of a delivery; the footer links to `unsubscribe_url` if given."""
    if kind not in _TEMPLATE_OF:
        raise PermanentEmailError(f"no email template for {kind!r}")
    t = strings(language)
    view = {
        **_view(kind, payload, t),
        "t": t,
        "language": language,
        "unsubscribe_url": unsubscribe_url,
    }
    name = _TEMPLATE_OF[kind]
    text = environment.get_template(f"{name}.txt.j2").render(view)
    html = environment.get_template(f"{name}.html.j2").render(view)
    return view["subject"], text, html


def unsubscribe_url(settings: NotifierSettings, hub: str, recipient: str) -> str:
    """The one-click link that stops email to this staff member (never expires)."""
    secret = settings.unsubscribe_secret.get_secret_value()
    token = unsubscribe.sign(secret, unsubscribe.Unsubscribe(hub=hub, subject=recipient))
    return f"{settings.public_url}/v1/unsubscribe?{urlencode({'token': token})}"


def invite(kind: str, payload: Mapping[str, Any], organizer: str, attendee: str) -> bytes | None:
    """The meeting's iCalendar attachment (REQUEST or CANCEL), if the delivery has one."""
    if kind == "meeting.scheduled":
        meeting: MeetingData | MeetingCancelledData = MeetingData.model_validate(payload["meeting"])
        method = Method.REQUEST
    elif kind == "meeting.cancelled":
        meeting = MeetingCancelledData.model_validate(payload["meeting"])
        method = Method.CANCEL
    else:
        return None
    entry = meeting_entry(meeting, organizer=organizer, attendees=(attendee,))
    return calendar_bytes([entry], method)


def _bare_address(sender: str) -> str:
    return sender.rpartition("<")[2].rstrip(">").strip()


def build_message(
    settings: NotifierSettings,
    *,
    delivery_id: str,
    kind: str,
    payload: Mapping[str, Any],
    language: str,
    to: str,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The email of a delivery. With `unsubscribe_url` (every non-transactional email) it
    carries RFC 8058 one-click unsubscribe: mailbox providers POST
    `List-Unsubscribe=One-Click` to that URL, and the footer links to it."""
    subject, text, html = render(kind, payload, language, unsubscribe_url)
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(idstring=delivery_id)
    message["X-Tandem-Delivery"] = delivery_id
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    ics = invite(kind, payload, _bare_address(settings.smtp_from), to)
    if ics is not None:
        method = "CANCEL" if kind == "meeting.cancelled" else "REQUEST"
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method},
        )
    # Last: making the body multipart moves every Content-* header into the first part.
    message["Content-Language"] = language
    return message


async def send(settings: NotifierSettings, message: EmailMessage) -> None:
    if not settings.smtp_host:
        raise PermanentEmailError("no SMTP server configured (TANDEM_NOTIFIER_SMTP_HOST)")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=password,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise PermanentEmailError(f"recipient refused: {error}") from error
