"""A consumer process for the SIGKILL test: `python -m tests.support.consumer_worker
DATABASE_URL BOOTSTRAP TOPIC_PREFIX`. It consumes profiles slowly and appends an effect row
per message, forever."""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaProducer

from tandem_shared.db import create_engine, create_sessionmaker
from tests.support.bus import append_effect, bus_settings, effect_runner


async def main(url: str, bootstrap: str, prefix: str) -> None:
    engine = create_engine(url)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    settings = bus_settings(bootstrap, False, prefix)
    runner = effect_runner(
        settings, create_sessionmaker(engine), producer, append_effect(delay=0.01)
    )
    print("worker started", flush=True)
    await runner.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
