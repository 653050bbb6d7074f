"""Sign in, sign out, and the language switcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tandem_console import web
from tandem_console.backend import ApiError, Backend, SignedOut
from tandem_console.i18n import LANGUAGES

router = APIRouter()


@router.get("/")
async def home(request: Request) -> Response:
    return web.redirect("/inbox" if web.current_person(request) else "/sign-in")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return await web.render(request, "sign_in.html", next=web.local_path(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    lang: web.Lang,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    """Ask the registry for a token; keep it in the signed session."""
    if not email.strip() or not password:
        message = lang.gettext("Enter your email and password.")
        return await _refused(request, email, next, message)
    console = web.state(request)
    registry = Backend(console.http, console.urls, token=None)
    try:
        response = await registry.call(
            "registry",
            "POST",
            "/v1/auth/token",
            data={"username": email.strip(), "password": password},
        )
    except (ApiError, SignedOut):
        return await _refused(request, email, next, lang.gettext("Wrong email or password."))
    session = web.session(request)
    locale, csrf = session.get("locale"), session.get("csrf")
    session.clear()  # a fresh session on sign-in: nothing carried over but the language
    session.update({"token": response.json()["access_token"], "csrf": csrf})
    if locale:
        session["locale"] = locale
    web.flash(request, lang.gettext("Signed in."))
    return web.redirect(web.local_path(next))


async def _refused(request: Request, email: str, next_path: str, message: str) -> Response:
    return await web.render(
        request,
        "sign_in.html",
        status=400,
        email=email,
        next=web.local_path(next_path),
        error=message,
    )


@router.post("/sign-out")
async def sign_out(request: Request, lang: web.Lang) -> Response:
    locale = web.session(request).get("locale")
    web.session(request).clear()
    if locale:
        web.session(request)["locale"] = locale
    web.flash(request, lang.gettext("Signed out."))
    return web.redirect("/sign-in")


@router.post("/language")
async def choose_language(
    request: Request,
    language: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Remember the chosen language in the session (it beats Accept-Language)."""
    if language in LANGUAGES:
        web.session(request)["locale"] = language
    return web.redirect(web.local_path(next, "/"))
