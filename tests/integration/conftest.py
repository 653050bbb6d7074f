"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_matcher.encoder import CachedEncoder, build_encoder
from tandem_matcher.settings import MatcherSettings
from tandem_shared.db import create_engine
from tests.support import FAST_ENCODER
from tests.support.bus import bus_parts
from tests.support.channels import SmtpServer
from tests.support.events import Events, events_service
from tests.support.notifier import Notifier, delivering_notifier
from tests.support.registry import Registry, running_registry


@pytest.fixture
async def registry(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Registry]:
    async with running_registry(clean_databases, kafka, topic_prefix) as running:
        yield running


@pytest.fixture(params=["postgresql", "sqlite"])
async def events(
    request: pytest.FixtureRequest,
    clean_databases: dict[str, str],
    kafka: Any,
    topic_prefix: str,
    tmp_path: Path,
) -> AsyncIterator[Events]:
    """The events service on clean databases: PostgreSQL as in production, and SQLite, the
    zero-setup default newcomers meet first in `make run` (migrated at start-up)."""
    if request.param == "postgresql":
        async with events_service(clean_databases, kafka, topic_prefix) as service:
            yield service
        return
    on_sqlite = {**clean_databases, "events": f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"}
    async with events_service(on_sqlite, kafka, topic_prefix, auto_migrate=True) as service:
        yield service


# The notifier delivering to the test SMTP server (test_notifier_feed.py defines its own).
@pytest.fixture
async def notifier(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str, smtp: SmtpServer
) -> AsyncIterator[Notifier]:
    async with delivering_notifier(clean_databases, kafka, topic_prefix, smtp) as running:
        yield running


@pytest.fixture
async def bus_env(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[dict[str, Any]]:
    """The bus tests' parts on the notifier's database (see `bus_parts`)."""
    async with bus_parts(clean_databases["notifier"], kafka, topic_prefix) as env:
        yield env


# The matcher's encoder (loaded once per module) and a sessionmaker on its database, for
# the tests that run its handlers in-process.
@pytest.fixture(scope="module")
def encoder() -> CachedEncoder:
    settings = MatcherSettings(encoder=FAST_ENCODER)
    return build_encoder(settings.encoder, settings.encoder_threads)


@pytest.fixture
async def sessions(
    clean_databases: dict[str, str],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(clean_databases["matcher"])
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()
