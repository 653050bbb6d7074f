"""The test harness: real PostgreSQL and a real Kafka-protocol broker, chosen by availability.

- Broker: `TANDEM_TEST_KAFKA_BOOTSTRAP` if set; else Apache Kafka from testcontainers when a
  Docker engine answers; else the embedded Tansu broker started for the session.
- PostgreSQL: `TANDEM_TEST_POSTGRES_URL` if set; else testcontainers when Docker answers;
  else the local server on 127.0.0.1:5432 (user postgres, trust auth).

Each session gets fresh databases (one per service, migrated once); each test gets fresh
topics (a unique topic prefix) and empty tables afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tandem_shared.broker import start_broker
from tandem_shared.migrations import upgrade
from tandem_tools.pg import create_database, database_url, drop_database
from tests.support.channels import SmtpServer
from tests.support.harness import SERVICE_NAMES, Kafka, docker_available, empty_tables


@pytest.fixture(scope="session")
def kafka() -> Iterator[Kafka]:
    if os.environ.get("TANDEM_TEST_KAFKA_BOOTSTRAP"):
        yield Kafka(os.environ["TANDEM_TEST_KAFKA_BOOTSTRAP"], idempotence=True)
    elif docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as container:
            yield Kafka(container.get_bootstrap_server(), idempotence=True)
    else:
        with start_broker() as broker:
            # Tansu rejects InitProducerId: idempotence off, the outbox/inbox keep it safe.
            yield Kafka(broker.bootstrap, idempotence=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if os.environ.get("TANDEM_TEST_POSTGRES_URL"):
        yield os.environ["TANDEM_TEST_POSTGRES_URL"]
    elif docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        yield "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def _migrations(name: str) -> object:
    module = __import__(f"tandem_{name}.app", fromlist=["SPEC"])
    return module.SPEC.migrations


@pytest.fixture(scope="session")
async def databases(pg_server: str) -> AsyncIterator[dict[str, str]]:
    """One fresh, migrated PostgreSQL database per service for this test session."""
    run = uuid.uuid4().hex[:8]
    names = {service: f"tandem_test_{run}_{service}" for service in SERVICE_NAMES}
    urls = {}
    for service, database in names.items():
        await create_database(pg_server, database, if_missing=False)
        urls[service] = database_url(pg_server, database)
        await upgrade(urls[service], _migrations(service))  # type: ignore[arg-type]
    yield urls
    for database in names.values():
        await drop_database(pg_server, database)


@pytest.fixture
async def clean_databases(databases: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """The session's databases, emptied after the test (per-test isolation)."""
    yield databases
    await empty_tables(databases)


@pytest.fixture
def topic_prefix() -> str:
    """Fresh topics for every test: all topic names get this prefix."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A local SMTP server that keeps what it receives (the notifier's email channel)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# Parallel runs (`-n N --dist load`) spread single tests over the workers, so one long
# module no longer holds a worker to the end; these modules' tests share module-scoped
# fixtures (a browser stack and its signed-in page, loaded encoders) and stay together.
# (xdist's own `loadgroup` cannot be used: it renames node ids, which pytest 9 ignores.)
KEPT_TOGETHER = (
    "tests/browser/",
    "tests/unit/test_multilingual_matching.py",
    "tests/unit/test_console_views.py",
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SpreadScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.startswith(KEPT_TOGETHER) else nodeid

    return SpreadScheduling(config, log)


# Modules with tests that take minutes on a loaded CI machine start first, so that the
# workers' last minutes are spent on short tests rather than waiting on one long one.
LONG_MODULES = (
    "tests/integration/test_authz_matrix.py",
    "tests/integration/test_bus_operator.py",
    "tests/integration/test_events_fuzz.py",
    "tests/e2e/test_federation.py",
    "tests/browser/test_console_day.py",
    "tests/integration/test_first_slice.py",
    "tests/e2e/test_pipeline.py",
    "tests/e2e/test_matcher_replicas.py",
    "tests/integration/test_notifier_delivery.py",
    "tests/integration/test_events_scheduling_rules.py",
    "tests/integration/test_bus_reliability.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = _module(item)
        return LONG_MODULES.index(module) if module in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)  # stable: the order within a module and among the rest stays


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]
