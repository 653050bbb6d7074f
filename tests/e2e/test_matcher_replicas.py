"""Two matcher replicas as separate processes, one consumer group, profile topics of six
partitions, the real broker and PostgreSQL: profiles whose halves land on different
replicas are matched, and the outcome equals one replica's (the same suggested pairs, no
withdrawal, no pair version published twice).

The halves are produced to partitions 0 and 3: whichever of aiokafka's assignors splits
six partitions between two members (round robin: even and odd; range: 0-2 and 3-5), they
reach different replicas. Each replica's metrics show it handled its share."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from tandem_matcher import service
from tandem_matcher.app import build_context
from tandem_matcher.domain.pairs import MatchStatus
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, matches
from tandem_shared.broker import free_port
from tandem_shared.bus.consumer import claim_in_inbox
from tandem_shared.contracts import MATCHES, PROFILES, ProfileData, ProfileUpserted, parse_message
from tandem_shared.db import create_engine
from tandem_tools.stack import (
    ServiceProcess,
    one_hub_identity_env,
    start_service,
    stop_services,
    wait_ready,
)
from tests.support import (
    FAST_ENCODER,
    FAST_STACK_ENV,
    complementary_profiles,
    eventually,
    read_topic,
)
from tests.support.harness import empty_tables

pytestmark = pytest.mark.e2e
PARTITIONS = 6
HALVES = (0, 3)  # a museum's partition, a studio's partition
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def profiles() -> list[tuple[int, ProfileUpserted]]:
    """Three museums and three studios (every museum matches every studio), each with the
    partition it is produced to."""
    museum, studio = complementary_profiles()
    made = []
    for n in range(3):
        for fields, partition in ((museum, HALVES[0]), (studio, HALVES[1])):
            data = ProfileData(
                **{**fields, "name": f"{fields['name']} {n}"},
                id=uuid.uuid4(),
                hub="demo",
                version=1,
                updated_at=NOW,
            )
            message = ProfileUpserted(source="/test", subject=str(data.id), hub="demo", data=data)
            made.append((partition, message))
    return made


async def one_replica(
    url: str, messages: list[ProfileUpserted]
) -> tuple[set[str], set[tuple[str, int, str]]]:
    """The suggested pairs and the match messages (pair, version, type) one matcher
    produces handling the messages in order (in-process, as its consumer would), on the
    same database, which is emptied afterwards."""
    engine = create_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ctx = build_context(MatcherSettings(encoder=FAST_ENCODER))  # as the replicas run
    for message in messages:
        async with sessions() as session, session.begin():
            await claim_in_inbox(
                session, bus, consumer="baseline", message_id=str(message.id), topic="t"
            )
            await service.on_profile_upserted(session, message, ctx)
    pairs = await suggested(sessions)
    async with sessions() as session:
        payloads = (await session.execute(select(bus.outbox.c.payload))).scalars()
        published = described([parse_message(payload) for payload in payloads if payload])
    await engine.dispose()
    await empty_tables({"matcher": url})
    return pairs, published


def described(messages: list[Any]) -> set[tuple[str, int, str]]:
    """Each match message as (pair, version, type); a set, so a repeat shows as a
    difference in count (checked separately)."""
    return {(m.data.pair_id, m.data.version, m.type) for m in messages}


async def suggested(sessions: async_sessionmaker[Any]) -> set[str]:
    async with sessions() as session:
        query = select(matches.c.pair_id).where(matches.c.status == MatchStatus.SUGGESTED)
        return set((await session.execute(query)).scalars())


async def produce_to(
    bootstrap: str, topic: str, records: list[tuple[int, ProfileUpserted]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for partition, message in records:
            await producer.send_and_wait(
                topic,
                value=message.model_dump_json().encode(),
                key=message.subject.encode(),
                partition=partition,
            )
    finally:
        await producer.stop()


def handled_profiles(replica: ServiceProcess, topic: str) -> float:
    """How many profile messages this replica's consumer handled (its /metrics)."""
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    pattern = (
        r'tandem_messages_consumed_total\{[^}]*outcome="handled"[^}]*topic="'
        + re.escape(topic)
        + r'"[^}]*\} ([0-9.e+]+)'
    )
    return sum(float(value) for value in re.findall(pattern, text))


@dataclass(frozen=True)
class Baseline:
    records: list[tuple[int, ProfileUpserted]]
    pairs: set[str]  # suggested by one replica
    published: set[tuple[str, int, str]]  # its match messages


@pytest.fixture
async def baseline(clean_databases: dict[str, str]) -> Baseline:
    """One replica's outcome, computed before the replicas start (they must not see it)."""
    records = profiles()
    pairs, published = await one_replica(clean_databases["matcher"], [m for _, m in records])
    return Baseline(records, pairs, published)


@pytest.fixture
def replicas(
    baseline: Baseline,
    clean_databases: dict[str, str],
    kafka: Any,
    topic_prefix: str,
    tmp_path: Path,
) -> Iterator[list[ServiceProcess]]:
    env = {
        "TANDEM_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TANDEM_KAFKA_IDEMPOTENCE": str(kafka.idempotence).lower(),
        "TANDEM_KAFKA_TOPIC_PREFIX": topic_prefix,
        "TANDEM_KAFKA_PARTITIONS": str(PARTITIONS),
        "TANDEM_ENVIRONMENT": "dev",
        **FAST_STACK_ENV,
        "TANDEM_MATCHER_DATABASE_URL": clean_databases["matcher"],
        # No registry runs: nothing here needs a token.
        **one_hub_identity_env(f"http://127.0.0.1:{free_port()}"),
    }
    started = [
        start_service("matcher", free_port(), env, tmp_path / f"replica-{n}") for n in range(2)
    ]
    try:
        wait_ready(started)
        yield started
    finally:
        stop_services(started)


async def test_two_replicas_match_pairs_split_between_them_as_one_replica_would(
    clean_databases: dict[str, str],
    kafka: Any,
    topic_prefix: str,
    baseline: Baseline,
    replicas: list[ServiceProcess],
) -> None:
    records, expected, alone = baseline.records, baseline.pairs, baseline.published
    assert len(expected) == 9  # every museum with every studio

    topic = f"{topic_prefix}{PROFILES.topic('demo')}"
    await produce_to(kafka.bootstrap, topic, records)
    engine = create_engine(clean_databases["matcher"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def all_matched() -> bool:
        return await suggested(sessions) == expected

    try:
        await eventually(all_matched, timeout=90, what="the nine pairs suggested")
    finally:
        found = await suggested(sessions)
        await engine.dispose()
    assert found == expected
    assert [handled_profiles(replica, topic) for replica in replicas] == [3.0, 3.0]

    # One more than one replica published: a repeated pair version would show.
    records_out = await read_topic(
        kafka.bootstrap, f"{topic_prefix}{MATCHES.topic('demo')}", expect=len(alone) + 1, timeout=10
    )
    messages = [parse_message(record.value) for record in records_out if record.value]
    assert len(messages) == len(alone), "a pair version was published twice"
    assert described(messages) == alone
