"""Browser fixtures: one stack (four services + console as processes, real PostgreSQL and
broker) and one Chromium for the whole module; screenshots of every page visited."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import FAST_BUS_ENV
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Stack,
    Visits,
    new_context,
    running_stack,
)
from tests.support.harness import empty_tables


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Debian's chromium (a developer's machine) the browser tests are skipped;
    in CI (`.ci/run` installs it) a missing browser is a failure, not a skip."""
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack(
    databases: dict[str, str], kafka: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    env = {
        "TANDEM_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TANDEM_KAFKA_IDEMPOTENCE": str(kafka.idempotence).lower(),
        "TANDEM_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}.",
        "TANDEM_ENVIRONMENT": "dev",
        "TANDEM_NOTIFIER_DELIVERY_POLL_SECONDS": "0.5",
        **FAST_BUS_ENV,
        **{f"TANDEM_{name.upper()}_DATABASE_URL": url for name, url in databases.items()},
    }
    logs: Path = tmp_path_factory.mktemp("browser-logs")
    try:
        with running_stack(env, logs) as running:
            yield running
    finally:
        # Playwright's sync API keeps an event loop running in this thread.
        with ThreadPoolExecutor(1) as apart:
            apart.submit(asyncio.run, empty_tables(databases)).result()


# The stack runs on a shared 2-core machine: give pages and assertions time.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def visits() -> Visits:
    found = Visits()
    found.reset()
    return found


@pytest.fixture(scope="module")
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """One signed-in staff member's tab, shared by the day's steps in order."""
    context = new_context(browser)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()
