"""The background task that repairs schedules after withdrawals and acceptances.

A withdrawal or an acceptance only sets the event's durable `repair_pending` flag in its
own transaction and answers at once; this task, supervised by the runtime, runs the
repairs after the commit. It wakes when a route asks (after the response) and also polls,
and it starts with a round, so a repair decided just before a crash still happens."""

from __future__ import annotations

import asyncio

from tandem_events.service import schedule
from tandem_events.settings import EventsSettings
from tandem_shared.aio import wait_event
from tandem_shared.runtime import Runtime, supervise

STATE_KEY = "schedule-repairer"


class ScheduleRepairer:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._wake = asyncio.Event()

    @property
    def settings(self) -> EventsSettings:
        settings: EventsSettings = self._runtime.settings
        return settings

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await schedule.repair_pending_schedules(
                self._runtime.sessionmaker, time_limit_s=self.settings.repair_time_limit_seconds
            )
            await wait_event(self._wake, self.settings.repair_poll_seconds)


async def start(runtime: Runtime) -> None:
    repairer = ScheduleRepairer(runtime)
    runtime.state[STATE_KEY] = repairer
    runtime.tasks.append(asyncio.create_task(supervise("schedule-repairer", repairer.run)))


def wake(runtime: Runtime) -> None:
    repairer = runtime.state.get(STATE_KEY)
    if isinstance(repairer, ScheduleRepairer):
        repairer.wake()
