"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.events_support import Events, events_service
from tests.integration.registry_support import Registry, running_registry


@pytest.fixture
async def registry(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Registry]:
    async with running_registry(clean_databases, kafka, topic_prefix) as running:
        yield running


@pytest.fixture
async def events(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Events]:
    """The events service on clean databases."""
    async with events_service(clean_databases, kafka, topic_prefix) as service:
        yield service
