"""The browser tests' stack and helpers: the four services and the console as separate
processes on free ports (real PostgreSQL, real broker), demo data loaded through the
registry's API, and a page visit that saves a screenshot and runs axe-core on the page."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

from tandem_shared.broker import free_port
from tandem_tools import demo
from tandem_tools.stack import (
    SERVICES,
    ServiceProcess,
    console_env,
    one_hub_identity_env,
    start_service,
    stop_services,
    wait_ready,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("TANDEM_SCREENSHOTS", ROOT / ".tandem" / "screenshots"))
ADMIN = ("admin@demo.local", "tandem-dev")
SERIOUS = {"serious", "critical"}


@dataclass
class Stack:
    services: dict[str, ServiceProcess]
    console: ServiceProcess
    token: str

    @property
    def url(self) -> str:
        return self.console.url

    def api(self, service: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.services[service].url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )


@contextmanager
def running_stack(env: dict[str, str], log_dir: Path) -> Iterator[Stack]:
    """The four services (trusting their registry's keys, as `make run` does), then the
    console pointing at them; demo data loaded."""
    ports = {name: free_port() for name in SERVICES}
    env = {
        **env,
        **one_hub_identity_env(f"http://127.0.0.1:{ports['registry']}"),
        "TANDEM_REGISTRY_DEV_KEY_DIR": str(log_dir / "keys"),
    }
    services = {name: start_service(name, ports[name], env, log_dir) for name in SERVICES}
    started = list(services.values())
    try:
        wait_ready(started)
        console = start_service("console", free_port(), {**env, **console_env(started)}, log_dir)
        started.append(console)
        wait_ready([console])
        token = demo.login(services["registry"].url, *ADMIN)
        demo.load_demo(services["registry"].url, token)
        yield Stack(services, console, token)
    finally:
        stop_services(started)


@dataclass
class Visits:
    """Every page a test shows: a screenshot each (the artefacts) and an axe-core scan
    that must find no serious or critical violation."""

    directory: Path = SCREENSHOTS
    taken: list[Path] = field(default_factory=list)
    axe: Axe = field(default_factory=Axe)

    def reset(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        path = self.directory / f"{len(self.taken) + 1:02d}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        results = self.axe.run(page)
        serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
        assert not serious, f"axe-core on {name} ({page.url}):\n" + _report(serious)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} at {targets}"
        )
    return "\n".join(lines)


def sign_in(page: Page, base_url: str, email: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/inbox.*"))


def new_context(browser: Browser) -> BrowserContext:
    return browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True
    )
