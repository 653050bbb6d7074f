"""The embedded broker in memory vs persisted (Tansu's s3:// engine on a local SeaweedFS):
what keeping the data across a restart costs, and what a restart does.

For each storage: start the broker, create a 3-partition topic, then
- produce: N records of `--size` bytes in batches of 200 awaited together (as the outbox
  relay sends them), acks=all; records/s;
- consume: a consumer group reads them all, committing after each fetch (as the consumer
  runner does); records/s;
- memory: the resident size of the broker (and the object store) after both;
- restart: SIGKILL the broker and start it again; seconds until it is ready, then how many
  records a new consumer of the same group finds (0 = the committed offsets survived) and
  how many the topic still holds from the start (N = the messages survived).

    .venv/bin/python bench/broker_storage.py              # 20000 records of 1 KiB
    .venv/bin/python bench/broker_storage.py --records 2000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tandem_shared.broker import start_broker, start_persistent_broker

TOPIC = "bench.storage"
BATCH = 200


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, 3, 1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, records: int, size: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=False, acks="all", linger_ms=2
    )
    await producer.start()
    value = b"x" * size
    started = time.perf_counter()
    try:
        for start in range(0, records, BATCH):
            futures = [
                await producer.send(TOPIC, value, key=str(i).encode())
                for i in range(start, min(records, start + BATCH))
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return records / (time.perf_counter() - started)


async def consume(bootstrap: str, group: str | None, expect: int, idle: float = 3.0) -> int:
    """Records read by `group` (None: from the start, no group) until `expect` or idle."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    quiet_since = time.monotonic()
    try:
        while seen < expect and time.monotonic() - quiet_since < idle:
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            for partition, records in batch.items():
                seen += len(records)
                if group is not None:
                    await consumer.commit({partition: records[-1].offset + 1})
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return seen


async def timed_consume(bootstrap: str, records: int) -> float:
    started = time.perf_counter()
    seen = await consume(bootstrap, "bench", records)
    assert seen == records, f"consumed {seen} of {records}"
    return records / (time.perf_counter() - started)


def measure(name: str, broker: Any, pids: list[int], records: int, size: int) -> dict[str, Any]:
    asyncio.run(create_topic(broker.bootstrap))
    produced = asyncio.run(produce(broker.bootstrap, records, size))
    consumed = asyncio.run(timed_consume(broker.bootstrap, records))
    memory = sum(rss_mib(pid) for pid in pids)
    started = time.perf_counter()
    broker.restart(crash=True)
    restart = time.perf_counter() - started
    redelivered = asyncio.run(consume(broker.bootstrap, "bench", records))
    kept = asyncio.run(consume(broker.bootstrap, None, records))
    return {
        "storage": name,
        "produce/s": produced,
        "consume/s": consumed,
        "rss MiB": memory,
        "restart s": restart,
        "redelivered": redelivered,
        "kept": kept,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    results = []
    with start_broker() as memory:
        results.append(measure("memory", memory, [memory.process.pid], args.records, args.size))
    with tempfile.TemporaryDirectory() as data, start_persistent_broker(Path(data)) as persisted:
        pids = [persisted.broker.process.pid, persisted.store.process.pid]
        results.append(measure("s3 (SeaweedFS)", persisted, pids, args.records, args.size))
    print(f"{args.records} records of {args.size} B, 3 partitions, acks=all")
    header = ["storage", "produce/s", "consume/s", "rss MiB", "restart s", "redelivered", "kept"]
    print("  ".join(f"{column:>14}" for column in header))
    for row in results:
        cells = [row["storage"], *(row[column] for column in header[1:])]
        print(
            "  ".join(
                f"{cell:>14.1f}" if isinstance(cell, float) else f"{cell!s:>14}" for cell in cells
            )
        )


if __name__ == "__main__":
    main()
