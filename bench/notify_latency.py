"""End-to-end notification latency: POST /v1/profiles at the registry → the notification
on the notifier's SSE stream, with the registry, matcher and notifier as separate
processes on PostgreSQL and the embedded Kafka-protocol broker (Tansu).

1. loads a pool of N profiles through the registry (the matcher encodes and indexes each;
   pool texts come from a small vocabulary, so its encoder cache absorbs repeats — the
   encoder is not what this measures), and waits until the matcher has caught up;
2. idle: posts probe profiles one at a time (each with a unique need text, so the probe
   itself is encoded) and times the first SSE event naming the probe;
3. loaded: the same while a steady stream of profile updates (PATCH, default 20/s) runs
   for a minute, sampling each hop's backlog (where the pipeline falls behind, if it does);
   with several `--rates`, one such run per rate, each from a caught-up pipeline.

    .venv/bin/python bench/notify_latency.py                   # pool 1000
    .venv/bin/python bench/notify_latency.py --pool 10000 --probes 40 --rates 20,10

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) or TANDEM_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tandem_shared.broker import free_port, start_broker
from tandem_tools.pg import create_database, database_url, drop_database, vacuum_analyze
from tandem_tools.stack import (
    ServiceProcess,
    one_hub_identity_env,
    start_service,
    stop_services,
    wait_ready,
)

SERVICES = ("registry", "matcher", "notifier")
KINDS = ("heritage", "creative", "industry", "support", "research")
TOPICS = (
    "3D digitisation of museum collections",
    "virtual exhibitions and augmented reality guides",
    "restoration of historic timber buildings",
    "design of sustainable packaging from local materials",
    "export markets for handmade ceramics",
    "funding applications for cross-border cultural projects",
    "archival research on regional crafts",
    "prototyping with additive manufacturing",
    "storytelling workshops for heritage sites",
    "digital marketing for small creative studios",
    "textile patterns from folk costume collections",
    "interactive installations for science centres",
    "energy renovation of listed industrial halls",
    "audio guides in several languages",
    "furniture design with reclaimed wood",
    "open data for cultural tourism routes",
    "training apprentices in traditional glassmaking",
    "photogrammetry of archaeological finds",
    "co-creation courses with manufacturers and artists",
    "business incubation for cultural start-ups",
)
PROBE_TIMEOUT = 120.0
NEED = "We are looking for a partner for {topic}"
OFFER = "We offer expertise in {topic}"


def pool_profile(number: int, rng: random.Random) -> dict[str, Any]:
    need, offer = rng.sample(TOPICS, 2)
    kind = KINDS[number % len(KINDS)]
    return {
        "name": f"Bench organisation {number}",
        "kind": kind,
        "needs": [{"text": NEED.format(topic=need)}],
        "offers": [{"text": OFFER.format(topic=offer)}],
        "looking_for": [KINDS[(number + 1) % len(KINDS)], KINDS[(number + 2) % len(KINDS)]],
        "languages": ["en"],
        "country": "PL",
        "sharing": "network",
    }


def probe_profile(rng: random.Random) -> dict[str, Any]:
    """A profile that needs what many pool profiles offer; its unique text is encoded."""
    topic = rng.choice(TOPICS)
    marker = uuid.uuid4().hex[:8]
    return {
        "name": f"Probe {marker}",
        "kind": rng.choice(KINDS),
        "needs": [{"text": f"We need a partner for {topic} (ref {marker})"}],
        "offers": [{"text": OFFER.format(topic=rng.choice(TOPICS))}],
        "looking_for": list(KINDS),
        "languages": ["en"],
        "country": "DE",
        "sharing": "network",
    }


def summary(label: str, samples: list[float]) -> str:
    if not samples:
        return f"{label}: no samples"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{label}: n={len(samples)} median={statistics.median(samples) * 1000:.0f} ms "
        f"p95={p95 * 1000:.0f} ms max={ordered[-1] * 1000:.0f} ms"
    )


class Stream:
    """The SSE stream of the demo hub; records when each profile id was first named."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        # When the notifier committed the notification (its created_at, wall clock).
        self.committed: dict[str, float] = {}
        self.events = 0
        self._waiters: dict[str, asyncio.Event] = {}

    def waiter(self, profile_id: str) -> asyncio.Event:
        return self._waiters.setdefault(profile_id, asyncio.Event())

    def _record(self, data: dict[str, Any]) -> None:
        self.events += 1
        now = time.perf_counter()
        match = data.get("data", {})
        for key in ("profile_a", "profile_b"):
            profile_id = match.get(key)
            if profile_id and profile_id not in self.seen:
                self.seen[profile_id] = now
                self.committed[profile_id] = datetime.fromisoformat(data["created_at"]).timestamp()
                self.waiter(profile_id).set()

    async def follow(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        async with client.stream("GET", "/v1/notifications/stream", headers=auth) as response:
            response.raise_for_status()
            data: list[str] = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    self._record(json.loads("".join(data)))
                    data = []


async def probe(
    registry: httpx.AsyncClient,
    auth: dict[str, str],
    stream: Stream,
    rng: random.Random,
    split: list[float],
) -> float | None:
    """Seconds from the POST to the probe's first SSE event; appends to `split` the share
    spent after the notifier committed the notification (the stream's own part)."""
    started, wall = time.perf_counter(), time.time()
    response = await registry.post("/v1/profiles", json=probe_profile(rng), headers=auth)
    response.raise_for_status()
    profile_id = response.json()["id"]
    try:
        await asyncio.wait_for(stream.waiter(profile_id).wait(), PROBE_TIMEOUT)
    except TimeoutError:
        return None
    total = stream.seen[profile_id] - started
    split.append(total - (stream.committed[profile_id] - wall))
    return total


async def load_pool(
    registry: httpx.AsyncClient, auth: dict[str, str], size: int, concurrency: int
) -> list[str]:
    rng = random.Random(7)
    ids: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def post(number: int) -> None:
        async with gate:
            response = await registry.post(
                "/v1/profiles", json=pool_profile(number, rng), headers=auth
            )
            response.raise_for_status()
            ids.append(response.json()["id"])

    await asyncio.gather(*(post(n) for n in range(size)))
    return ids


def _metric(text: str, name: str, label: str = "") -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _caught_up(
    producer: httpx.AsyncClient, consumer: httpx.AsyncClient, topic: str, at_least: int
) -> bool:
    published = _metric(
        (await producer.get("/metrics")).text, "tandem_outbox_published_total{", topic
    )
    consumed = _metric(
        (await consumer.get("/metrics")).text, "tandem_messages_consumed_total{", topic
    )
    return published >= at_least and consumed >= published


async def _backlog(
    producer: httpx.AsyncClient, consumer: httpx.AsyncClient, topic: str
) -> tuple[float, float]:
    """(messages the producer's outbox has not published yet, messages published but not
    yet consumed) on one hop."""
    produced = (await producer.get("/metrics")).text
    published = _metric(produced, "tandem_outbox_published_total{", topic)
    consumed = _metric(
        (await consumer.get("/metrics")).text, "tandem_messages_consumed_total{", topic
    )
    return _metric(produced, "tandem_outbox_pending{"), max(0.0, published - consumed)


class Backlogs:
    """Samples each hop's backlog while the loaded run goes on: where the pipeline falls
    behind, if it does."""

    HOPS = (
        ("registry → matcher", "registry", "matcher", "tandem.demo.profiles.v1"),
        ("matcher → notifier", "matcher", "notifier", "tandem.demo.matches.v1"),
    )

    def __init__(self, clients: dict[str, httpx.AsyncClient]) -> None:
        self._clients = clients
        self.samples: dict[str, list[tuple[float, float]]] = {hop[0]: [] for hop in self.HOPS}

    async def sample(self, stop: asyncio.Event, every: float = 2.0) -> None:
        while not stop.is_set():
            for label, producer, consumer, topic in self.HOPS:
                self.samples[label].append(
                    await _backlog(self._clients[producer], self._clients[consumer], topic)
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def report(self) -> str:
        lines = []
        for label, samples in self.samples.items():
            if not samples:
                continue
            unpublished = [sample[0] for sample in samples]
            unconsumed = [sample[1] for sample in samples]
            lines.append(
                f"  backlog {label}: unpublished outbox rows max {max(unpublished):.0f} "
                f"(last {unpublished[-1]:.0f}), published but unconsumed max "
                f"{max(unconsumed):.0f} (last {unconsumed[-1]:.0f})"
            )
        return "\n".join(lines)


async def wait_caught_up(
    registry: httpx.AsyncClient,
    matcher: httpx.AsyncClient,
    notifier: httpx.AsyncClient,
    expected: int,
) -> None:
    """Until the matcher consumed every profile message and the notifier every match
    message (twice in a row: the matcher may still be publishing)."""
    calm = 0
    while calm < 2:
        await asyncio.sleep(1)
        done = await _caught_up(registry, matcher, "tandem.demo.profiles.v1", expected)
        done = done and await _caught_up(matcher, notifier, "tandem.demo.matches.v1", 1)
        calm = calm + 1 if done else 0


async def steady_updates(
    registry: httpx.AsyncClient,
    auth: dict[str, str],
    ids: list[str],
    rate: float,
    stop: asyncio.Event,
) -> tuple[int, float]:
    """PATCH pool profiles at `rate` per second until `stop`; how many were sent, in how
    many seconds."""
    rng = random.Random(11)
    sent = 0
    pending: set[asyncio.Task[Any]] = set()
    started = time.perf_counter()
    while not stop.is_set():
        patch = {"needs": [{"text": NEED.format(topic=rng.choice(TOPICS))}]}
        task = asyncio.create_task(
            registry.patch(f"/v1/profiles/{rng.choice(ids)}", json=patch, headers=auth)
        )
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += 1
        delay = started + sent / rate - time.perf_counter()
        if delay > 0:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*pending, return_exceptions=True)
    return sent, elapsed


async def loaded_run(
    clients: dict[str, httpx.AsyncClient],
    auth: dict[str, str],
    stream: Stream,
    rng: random.Random,
    ids: list[str],
    rate: float,
    args: argparse.Namespace,
    meter: CpuMeter,
) -> None:
    """Probe latency while pool profiles are updated at `rate` per second."""
    registry = clients["registry"]
    stop = asyncio.Event()
    cpu_before = meter.snapshot()
    backlogs = Backlogs(clients)
    sampler = asyncio.create_task(backlogs.sample(stop))
    updater = asyncio.create_task(steady_updates(registry, auth, ids, rate, stop))
    samples: list[float | None] = []
    split: list[float] = []
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        samples.append(await probe(registry, auth, stream, rng, split))
        await asyncio.sleep(args.probe_gap)
    stop.set()
    updates, elapsed = await updater
    await sampler
    cpu = meter.since(cpu_before)
    busy = [sample for sample in samples if sample is not None]
    print(
        summary(f"with {updates / elapsed:.1f} updates/s for {elapsed:.0f} s", busy),
        f"(lost {len(samples) - len(busy)})",
    )
    print("  " + summary("of which notifier commit → SSE", split))
    print(backlogs.report())
    print(meter.report(cpu, updates, elapsed))


class CpuMeter:
    """CPU seconds (user + system, from /proc) of each part of the stack: the services,
    the broker, every PostgreSQL process and this load generator. Per update, they show
    what the machine must provide for a rate: a rate needing more cores than it has cannot
    be sustained, whatever the code's latency."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._tick = os.sysconf("SC_CLK_TCK")

    def _seconds(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def _postgres(self) -> float:
        total = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    if (entry / "comm").read_text().strip() == "postgres":
                        total += self._seconds(int(entry.name))
        return total

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        return {
            **{name: self._seconds(pid) for name, pid in self._pids.items()},
            "postgres": self._postgres(),
            "load generator": times.user + times.system,
        }

    def since(self, before: dict[str, float]) -> dict[str, float]:
        return {name: seconds - before[name] for name, seconds in self.snapshot().items()}

    @staticmethod
    def report(cpu: dict[str, float], updates: int, elapsed: float) -> str:
        parts = ", ".join(
            f"{name} {seconds / max(updates, 1) * 1000:.0f}" for name, seconds in cpu.items()
        )
        total = sum(cpu.values())
        return (
            f"  CPU per update (ms): {parts}; total {total / max(updates, 1) * 1000:.0f} ms, "
            f"{total / elapsed:.2f} cores busy of {os.cpu_count()}"
        )


@dataclass(frozen=True)
class Stack:
    services: dict[str, ServiceProcess]
    broker_pid: int
    server: str
    databases: list[str]

    async def vacuum(self) -> None:
        """What autovacuum does in production. This machine's PostgreSQL runs without it,
        and every row the outbox marks sent or a rescore rewrites leaves a dead version in
        the indexes that the next lookups walk: without a vacuum the pipeline slows down
        as it runs, which is not what a hub's database does."""
        autovacuum = [await vacuum_analyze(self.server, name) for name in self.databases]
        if not all(autovacuum):
            print("  (autovacuum is off on this server: the bench ran VACUUM ANALYZE)")


@asynccontextmanager
async def stack(log_dir: Path) -> AsyncIterator[Stack]:
    """The three services on a fresh broker and databases."""
    server = os.environ.get(
        "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    run = uuid.uuid4().hex[:8]
    names = {service: f"bench_{run}_{service}" for service in SERVICES}
    for name in names.values():
        await create_database(server, name)
    broker = start_broker(log_path=log_dir / "broker.log")
    ports = {service: free_port() for service in SERVICES}
    registry = f"http://127.0.0.1:{ports['registry']}"
    env = {
        "TANDEM_KAFKA_BOOTSTRAP": broker.bootstrap,
        "TANDEM_KAFKA_IDEMPOTENCE": "false",
        "TANDEM_ENVIRONMENT": "dev",
        "TANDEM_LOG_LEVEL": "WARNING",
        "TANDEM_NOTIFIER_STREAM_MAX_SECONDS": "3600",
        "TANDEM_REGISTRY_OUTBOX_POLL_SECONDS": "0.1",
        "TANDEM_MATCHER_OUTBOX_POLL_SECONDS": "0.1",
        **{
            f"TANDEM_{service.upper()}_DATABASE_URL": database_url(server, name)
            for service, name in names.items()
        },
        # The registry signs with a key generated for this run; every service trusts it.
        **one_hub_identity_env(registry),
        "TANDEM_REGISTRY_DEV_KEY_DIR": str(log_dir / "keys"),
    }
    processes: dict[str, ServiceProcess] = {}
    try:
        for service in SERVICES:
            processes[service] = start_service(service, ports[service], env, log_dir)
        wait_ready(list(processes.values()), timeout=180)
        yield Stack(processes, broker.process.pid, server, list(names.values()))
    finally:
        stop_services(list(processes.values()))
        broker.stop()
        for name in names.values():
            await drop_database(server, name)


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as scratch:
        async with stack(Path(scratch)) as running:
            services, broker_pid = running.services, running.broker_pid
            registry = httpx.AsyncClient(base_url=services["registry"].url, timeout=60)
            matcher = httpx.AsyncClient(base_url=services["matcher"].url, timeout=60)
            notifier = httpx.AsyncClient(base_url=services["notifier"].url, timeout=None)
            services_clients = {"registry": registry, "matcher": matcher, "notifier": notifier}
            pids = {name: service.process.pid for name, service in services.items()}
            meter = CpuMeter({**pids, "broker": broker_pid})
            login = {"username": "admin@demo.local", "password": "tandem-dev"}
            token = (await registry.post("/v1/auth/token", data=login)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}

            started = time.perf_counter()
            ids = await load_pool(registry, auth, args.pool, args.concurrency)
            posted = time.perf_counter() - started
            await wait_caught_up(registry, matcher, notifier, args.pool)
            loaded = time.perf_counter() - started
            await running.vacuum()
            print(
                f"pool: {len(ids)} profiles posted in {posted:.1f} s "
                f"({len(ids) / posted:.0f}/s); matcher and notifier caught up after "
                f"{loaded:.1f} s"
            )

            stream = Stream()
            follower = asyncio.create_task(stream.follow(notifier, auth))
            await asyncio.sleep(1)  # the stream is open before the first probe
            idle_split: list[float] = []
            idle = [
                await probe(registry, auth, stream, rng, idle_split) for _ in range(args.probes)
            ]
            idle_ok = [sample for sample in idle if sample is not None]
            print(summary(f"idle, pool {len(ids)}", idle_ok), f"(lost {len(idle) - len(idle_ok)})")
            print("  " + summary("of which notifier commit → SSE", idle_split))

            for rate in args.rates:
                await loaded_run(services_clients, auth, stream, rng, ids, rate, args, meter)
                # The next rate starts from an empty pipeline.
                await wait_caught_up(registry, matcher, notifier, args.pool)
                await running.vacuum()
            print(f"SSE events received: {stream.events}")
            follower.cancel()
            with suppress(asyncio.CancelledError, httpx.HTTPError):
                await follower
            for client in (registry, matcher, notifier):
                await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument(
        "--rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        default=[20.0],
        help="profile updates per second, one loaded run per rate (e.g. 20,10)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the loaded run")
    parser.add_argument("--probe-gap", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel pool POSTs")
    asyncio.run(main(parser.parse_args()))
