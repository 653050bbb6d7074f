"""The schedule repairer with several events replicas: each pending repair is solved by one
replica at a time (a per-event lease in PostgreSQL), never by every replica at once.
The repairers here run the service's own function against the real database, each with
its own engine, as two replicas would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tandem_events.domain.scheduling import Schedule, repair
from tandem_events.repository import schedule as schedule_repository
from tandem_events.service import schedule as schedule_service
from tandem_events.tables import events as events_table
from tandem_shared.db import create_engine, transaction
from tests.support.events import events_service, scheduled_event, withdraw_awaiting_repair

pytestmark = pytest.mark.integration
TIME_LIMIT = 2.0


@pytest.fixture
async def flagged(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[uuid.UUID]:
    """A scheduled event with a committed withdrawal whose repair is pending (the service
    stopped, so only the test's repairers run)."""
    async with events_service(clean_databases, kafka, topic_prefix) as service:
        setup = await scheduled_event(service)
    _, withdrawn, *_ = setup["registrations"]
    engine = create_engine(clean_databases["events"])
    await withdraw_awaiting_repair(
        async_sessionmaker(engine), withdrawn["id"], setup["event"]["id"]
    )
    await engine.dispose()
    event_id = uuid.UUID(setup["event"]["id"])
    yield event_id


@pytest.fixture
async def replicas(clean_databases: dict[str, str]) -> AsyncIterator[list[Any]]:
    """Two sessionmakers with an engine each: two replicas' database access."""
    engines = [create_engine(clean_databases["events"]) for _ in range(2)]
    yield [async_sessionmaker(engine, expire_on_commit=False) for engine in engines]
    for engine in engines:
        await engine.dispose()


@pytest.fixture
def solver_runs(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Counts the repair solver's runs (the real solver still runs)."""
    runs: list[uuid.UUID] = []

    def counted(problem: Any, previous: Any, *, time_limit_s: float) -> Schedule:
        runs.append(uuid.uuid4())
        return repair(problem, previous, time_limit_s=time_limit_s)

    monkeypatch.setattr(schedule_service, "repair", counted)
    return runs


async def pending(sessions: async_sessionmaker[AsyncSession], event_id: uuid.UUID) -> str | None:
    async with transaction(sessions) as session:
        query = select(events_table.c.repair_pending).where(events_table.c.id == event_id)
        value: str | None = (await session.execute(query)).scalar_one()
        return value


async def test_a_repair_leased_by_another_replica_is_left_to_it(
    flagged: uuid.UUID, replicas: list[Any], solver_runs: list[uuid.UUID]
) -> None:
    first, second = replicas
    async with schedule_repository.repair_lease(first, flagged) as leased:
        assert leased
        repaired = await schedule_service.repair_pending_schedules(second, time_limit_s=TIME_LIMIT)
        assert repaired == 0 and solver_runs == []
        assert await pending(second, flagged) == "a participant withdrew"
    # The lease is gone with its holder's transaction: the next round repairs the event.
    assert await schedule_service.repair_pending_schedules(second, time_limit_s=TIME_LIMIT) == 1
    assert len(solver_runs) == 1 and await pending(second, flagged) is None


async def test_two_repairers_at_once_solve_the_event_once(
    flagged: uuid.UUID, replicas: list[Any], solver_runs: list[uuid.UUID]
) -> None:
    await asyncio.gather(
        *(
            schedule_service.repair_pending_schedules(sessions, time_limit_s=TIME_LIMIT)
            for sessions in replicas
        )
    )
    assert len(solver_runs) == 1
    assert await pending(replicas[0], flagged) is None
