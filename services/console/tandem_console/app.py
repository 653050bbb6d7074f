"""The staff console: server-rendered pages (Jinja2 + htmx) over the four services' public
HTTP APIs. It owns no data: the signed session cookie holds the person's token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_console import explain, feed, vocabulary, web
from tandem_console.backend import SERVICES, ApiError, SignedOut, Unavailable, base_urls
from tandem_console.i18n import LANGUAGES, load_translations
from tandem_console.pages import (
    auth,
    dev_mail,
    events,
    inbox,
    matches,
    organisations,
    schedule,
)
from tandem_console.pages import settings as settings_pages
from tandem_console.settings import ConsoleSettings
from tandem_shared.http import install_http_basics
from tandem_shared.logging import configure_logging, get_logger

log = get_logger(__name__)
PACKAGE = Path(__file__).parent
SESSION_COOKIE = "tandem_console"
# Everything from this origin; no inline script or style, no framing.
SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(PACKAGE / "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        LANGUAGES=LANGUAGES,
        KINDS=vocabulary.ORG_KINDS,
        SUBSECTORS=vocabulary.SUBSECTORS,
        SHARING=vocabulary.SHARING,
        EVENT_KINDS=vocabulary.EVENT_KINDS,
        OUTCOMES=vocabulary.OUTCOMES,
        REGISTRATION_STATUS=vocabulary.REGISTRATION_STATUS,
        REQUEST_STATUS=vocabulary.REQUEST_STATUS,
        CHANNELS=vocabulary.CHANNELS,
        DELIVERY=vocabulary.DELIVERY,
        MATCH_STATUS=explain.STATUS_LABELS,
        NOTE_KINDS=feed.KIND_LABELS,
    )
    return environment


async def _ready_check(app: FastAPI) -> dict[str, bool]:
    """Ready when the four services answer /healthz."""
    console: web.ConsoleState = app.state.console

    async def alive(service: str) -> bool:
        try:
            response = await console.http.get(f"{console.urls[service]}/healthz", timeout=3)  # type: ignore[index]
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    answers = await asyncio.gather(*(alive(service) for service in SERVICES))
    return dict(zip(SERVICES, answers, strict=True))


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or ConsoleSettings()
        configure_logging(service="console", json=config.json_logs, level=config.log_level)
        async with httpx.AsyncClient(timeout=config.request_timeout_seconds) as http:
            app.state.console = web.ConsoleState(
                settings=config,
                http=http,
                urls=base_urls(config),
                translations=load_translations(),
                templates=templates(),
            )
            log.info("service.started", services=app.state.console.urls)
            yield

    app = FastAPI(
        title="Tandem console",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_http_basics(app, service="console", ready_check=_ready_check)
    _install_error_pages(app)
    # The cookie's settings are only known in the lifespan; the middleware reads them there.
    app.add_middleware(LazySessionMiddleware, settings=settings)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")
    checked = [Depends(web.verify_csrf)]
    for module in (auth, inbox, matches, organisations, events, schedule, settings_pages, dev_mail):
        app.include_router(module.router, dependencies=checked)
    return app


class LazySessionMiddleware:
    """Starlette's signed-cookie session (itsdangerous), configured from the settings the
    lifespan built: HttpOnly, SameSite=Lax, Secure in production, as long as a token."""

    def __init__(self, app: ASGIApp, settings: ConsoleSettings | None) -> None:
        self.app = app
        self.settings = settings
        self.session: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.session is None:
            config = self.settings or scope["app"].state.console.settings
            self.session = SessionMiddleware(
                self.app,
                secret_key=config.session_secret.get_secret_value(),
                session_cookie=SESSION_COOKIE,
                max_age=config.session_max_age_seconds,
                same_site="lax",
                https_only=config.secure_cookies,
            )
        await self.session(scope, receive, send)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _error: SignedOut) -> Response:
        web.session(request).pop("token", None)
        target = web.sign_in_url(request)
        if web.is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return web.redirect(target)

    @app.exception_handler(web.CsrfRefused)
    async def csrf_refused(request: Request, _error: web.CsrfRefused) -> Response:
        message = web.language(request).gettext(
            "The form had expired. Please go back, reload the page and try again."
        )
        return await _error_page(request, 403, message)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, error: Unavailable) -> Response:
        log.warning("console.service_unavailable", service=error.service, error=str(error))
        message = web.language(request).gettext(
            "The %(service)s service cannot be reached just now. Please try again in a moment.",
            service=error.service,
        )
        return await _error_page(request, 503, message)

    @app.exception_handler(ApiError)
    async def refused(request: Request, error: ApiError) -> Response:
        return await _error_page(request, error.status, error.message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _error: RequestValidationError) -> Response:
        message = web.language(request).gettext("This address or form is not valid.")
        return await _error_page(request, 404 if request.method == "GET" else 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return await _error_page(request, error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("console.unexpected_error", path=request.url.path, error=repr(error))
        message = web.language(request).gettext(
            "Something went wrong on our side. The error has been logged."
        )
        return await _error_page(request, 500, message)


async def _error_page(request: Request, status: int, message: str) -> Response:
    return await web.render(
        request, "error.html", status=status, status_code=status, message=message
    )
