"""What every page shares: the signed session (token, CSRF token, language, flash
messages), the signed-in person, the language of the page, and rendering."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from tandem_console.backend import ApiError, Backend, Service, SignedOut, Unavailable
from tandem_console.i18n import Language, negotiate
from tandem_console.settings import ConsoleSettings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_ROLES = frozenset({"hub_admin", "network_admin"})


@dataclass
class ConsoleState:
    """What the running console holds (`app.state.console`)."""

    settings: ConsoleSettings
    http: httpx.AsyncClient
    urls: dict[Service, str]
    translations: dict[str, Any]
    templates: Environment


@dataclass(frozen=True)
class Person:
    """Who is signed in, as the registry's token says (the services verify the token; the
    console only reads it to show the name and to hide what the role may not do)."""

    subject: str
    hub: str
    role: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_network_admin(self) -> bool:
        return self.role == "network_admin"


class CsrfRefused(Exception):
    """An unsafe request without this session's CSRF token."""


def session(request: Request) -> dict[str, Any]:
    """The signed session; empty (and not kept) where the session middleware did not run
    (the last-resort error page)."""
    if "session" not in request.scope:
        return {}
    found: dict[str, Any] = request.session
    return found


def state(request: Request) -> ConsoleState:
    console: ConsoleState = request.app.state.console
    return console


def person_of(token: str | None, now: datetime | None = None) -> Person | None:
    """The token's claims, or None when it is missing, unreadable or expired."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        person = Person(
            subject=str(claims["sub"]),
            hub=str(claims["hub"]),
            role=str(claims["role"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None
    return person if person.expires_at > (now or datetime.now(UTC)) else None


def current_person(request: Request) -> Person | None:
    return person_of(session(request).get("token"))


def language(request: Request) -> Language:
    console = state(request)
    chosen = session(request).get("locale")
    code = chosen if chosen in console.translations else None
    code = code or negotiate(
        request.headers.get("accept-language"), console.settings.default_locale
    )
    return Language(code, console.translations[code], console.settings.timezone)


def csrf_token(request: Request) -> str:
    token = session(request).get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session(request)["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Router dependency: an unsafe request must carry the session's CSRF token, in the
    X-CSRF-Token header (htmx) or the form's csrf_token field."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session(request).get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not (isinstance(expected, str) and sent and hmac.compare_digest(expected, sent)):
        raise CsrfRefused


def signed_in_backend(request: Request) -> Backend:
    """The services, called as the signed-in person; SignedOut when nobody is."""
    token = session(request).get("token")
    if person_of(token) is None:
        session(request).pop("token", None)
        raise SignedOut
    console = state(request)
    return Backend(console.http, console.urls, token)


Api = Annotated[Backend, Depends(signed_in_backend)]
Lang = Annotated[Language, Depends(language)]


def flash(request: Request, message: str, kind: str = "success") -> None:
    messages = list(session(request).get("flash", []))
    messages.append({"kind": kind, "text": message})
    session(request)["flash"] = messages[-5:]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def local_path(candidate: str | None, default: str = "/inbox") -> str:
    """A path on this site to go back to (never another host: no open redirect)."""
    if candidate and candidate.startswith("/") and not candidate.startswith(("//", "/\\")):
        return candidate
    return default


def sign_in_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?next=" + quote(local_path(here), safe="/")


async def unread_total(request: Request) -> int | None:
    """The badge in the navigation: the person's unread alerts (None if unknown)."""
    try:
        feed = await signed_in_backend(request).get(
            "notifier", "/v1/notifications", unread="true", per_page=1
        )
    except (ApiError, SignedOut, Unavailable):
        return None
    total: int = feed["total"]
    return total


async def render(
    request: Request, template: str, *, status: int = 200, nav: str = "", **context: Any
) -> HTMLResponse:
    """A whole page (or an htmx fragment when `template` starts with `_`)."""
    person = current_person(request)
    fragment = template.rsplit("/", 1)[-1].startswith("_")
    page: dict[str, Any] = {
        **language(request).helpers(),
        "request": request,
        "person": person,
        "csrf": csrf_token(request),
        "nav": nav,
        "dev_mail": state(request).settings.dev_mail_url is not None,
        **context,
    }
    if not fragment:
        page["flashes"] = session(request).pop("flash", [])
        page["unread"] = await unread_total(request) if person else None
    html = state(request).templates.get_template(template).render(page)
    return HTMLResponse(html, status_code=status)


def render_fragment(request: Request, template: str, **context: Any) -> str:
    """A partial as a string (the live inbox stream sends rows rendered like the page's)."""
    page = {**language(request).helpers(), "request": request, "csrf": csrf_token(request)}
    return state(request).templates.get_template(template).render({**page, **context})
