"""The console app in process (no services behind it): what it refuses before it calls
anything, its headers and cookie, its health, and its catalogues and vocabularies."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tandem_console.app import SESSION_COOKIE, create_app, templates
from tandem_console.i18n import LANGUAGES, LOCALE_DIR, Language, load_translations
from tandem_console.settings import ConsoleSettings
from tandem_console.vocabulary import SUBSECTORS
from tandem_registry.domain.profiles import SUBSECTORS as REGISTRY_SUBSECTORS
from tandem_shared.broker import free_port
from tests.support import running

pytestmark = pytest.mark.unit
PACKAGE = LOCALE_DIR.parent


def _settings(**overrides: object) -> ConsoleSettings:
    # Nothing listens on these ports: every service is unreachable.
    nowhere = {
        f"{name}_url": f"http://127.0.0.1:{free_port()}"
        for name in ("registry", "matcher", "events", "notifier")
    }
    return ConsoleSettings(**{**nowhere, **overrides})  # type: ignore[arg-type]


async def test_pages_ask_to_sign_in_first() -> None:
    async with running(create_app(_settings())) as client:
        response = await client.get("/organisations?kind=heritage")
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=/organisations%3Fkind%3Dheritage"
        htmx = await client.get("/inbox", headers={"HX-Request": "true"})
        assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/sign-in")


async def test_the_sign_in_page_speaks_the_browsers_language_and_sets_a_safe_cookie() -> None:
    async with running(create_app(_settings())) as client:
        response = await client.get("/sign-in", headers={"Accept-Language": "de-DE,de;q=0.9"})
        assert response.status_code == 200
        assert '<html lang="de">' in response.text
        assert '<label for="email">E-Mail</label>' in response.text
        assert ">Anmelden</button>" in response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower()  # dev serves plain HTTP on 127.0.0.1
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


async def test_production_cookies_are_secure() -> None:
    settings = _settings(environment="prod", session_secret="s" * 40)
    async with running(create_app(settings)) as client:
        response = await client.get("/sign-in")
        assert "secure" in response.headers["set-cookie"].lower()


def test_production_refuses_the_dev_session_secret() -> None:
    with pytest.raises(ValueError, match="TANDEM_CONSOLE_SESSION_SECRET"):
        ConsoleSettings(environment="prod")


async def test_forms_without_the_sessions_csrf_token_are_refused() -> None:
    async with running(create_app(_settings())) as client:
        page = await client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        refused = await client.post("/sign-in", data={"email": "a@b.c", "password": "x"})
        assert refused.status_code == 403
        forged = await client.post("/language", data={"language": "pl", "csrf_token": "forged"})
        assert forged.status_code == 403
        chosen = await client.post(
            "/language", data={"language": "pl", "next": "/sign-in", "csrf_token": token.group(1)}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/sign-in"
        assert '<html lang="pl">' in (await client.get("/sign-in")).text


async def test_sign_in_with_a_registry_down_says_so_without_a_500() -> None:
    async with running(create_app(_settings())) as client:
        page = await client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        answer = await client.post(
            "/sign-in", data={"email": "a@b.c", "password": "x", "csrf_token": token.group(1)}
        )
        assert answer.status_code == 503
        assert "registry" in answer.text


async def test_health_and_readiness_follow_the_four_services() -> None:
    async with running(create_app(_settings())) as client:
        assert (await client.get("/healthz")).json()["service"] == "console"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == dict.fromkeys(
            ("registry", "matcher", "events", "notifier"), False
        )


async def test_vendored_assets_are_served_locally() -> None:
    async with running(create_app(_settings())) as client:
        htmx = await client.get("/static/htmx.min.js")
        assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
        assert (await client.get("/static/console.js")).status_code == 200


def test_every_message_is_translated_in_every_language() -> None:
    mapping = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    wanted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            PACKAGE, mapping, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
        )
    }
    assert len(wanted) > 300
    for code in LANGUAGES:
        if code == "en":
            continue
        with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=code)
        translated = {
            (m.id if isinstance(m.id, str) else m.id[0])
            for m in catalog
            if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
        assert not wanted - translated, f"{code}: untranslated {sorted(wanted - translated)[:10]}"
        problems = [(m.id, errors) for m, errors in catalog.check()]
        assert not problems, f"{code}: {problems[:5]}"


def test_the_subsector_labels_cover_the_registrys_vocabulary() -> None:
    assert set(SUBSECTORS) == set(REGISTRY_SUBSECTORS)


def test_every_template_compiles_and_the_pager_links_its_neighbours() -> None:
    environment = templates()
    for name in environment.list_templates():
        environment.get_template(name)
    english = Language("en", load_translations()["en"], "UTC")
    macros = environment.get_template("_macros.html").make_module(dict(english.helpers()))
    pager = getattr(macros, "pager")  # noqa: B009 - a macro, unknown to the type checker
    html = str(pager(2, 3, "/inbox?unread=true&", "Newer", "Older"))
    assert 'href="/inbox?unread=true&amp;page=1">Newer' in html
    assert 'href="/inbox?unread=true&amp;page=3">Older' in html
    assert "Page 2 of 3" in html
    assert str(pager(1, 1, "/inbox?", "Newer", "Older")).strip() == ""
