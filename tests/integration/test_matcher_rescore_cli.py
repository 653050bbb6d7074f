"""`tandem-matcher rescore-all` against PostgreSQL: it writes matches and outbox messages
exactly like an upsert would, a rerun changes nothing, and a changed threshold withdraws
what no longer qualifies; profiles that may not see each other are never paired."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tandem_matcher.cli import app as cli
from tandem_matcher.settings import MatcherSettings
from tandem_matcher.tables import bus, matches, profiles
from tandem_shared.contracts import MATCHES, pair_id, parse_message
from tandem_shared.db import create_engine
from tests.support import complementary_profiles

pytestmark = pytest.mark.integration


@pytest.fixture
def matcher_url(clean_databases: dict[str, str]) -> str:
    return clean_databases["matcher"]


async def invoke(url: str, *args: str, threshold: float) -> Result:
    """Run `tandem-matcher ARGS` (in a thread: the command runs its own event loop)."""
    env = {"TANDEM_MATCHER_DATABASE_URL": url, "TANDEM_MATCHER_THRESHOLD": str(threshold)}
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


def projected(body: dict[str, Any], hub: str, **changes: Any) -> dict[str, Any]:
    row = {
        "id": uuid.uuid4(),
        "hub": hub,
        "version": 1,
        "updated_at": datetime.now(UTC),
        **{key: body[key] for key in ("name", "kind", "sharing", "looking_for", "languages")},
        "country": body["country"],
        "offers": body["offers"],
        "needs": body["needs"],
    }
    return {**row, **changes}


async def seed(url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(profiles.insert(), rows)
    finally:
        await engine.dispose()


async def state(url: str) -> tuple[list[Any], list[Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            match_rows = (await connection.execute(select(matches))).all()
            outbox_rows = (await connection.execute(select(bus.outbox).order_by("id"))).all()
    finally:
        await engine.dispose()
    return list(match_rows), list(outbox_rows)


async def test_rescore_all_writes_matches_through_the_outbox(matcher_url: str) -> None:
    museum, studio = complementary_profiles()
    rows = [
        projected(museum, "demo"),  # the matcher's own hub (TANDEM_HUB)
        projected(studio, "south"),  # another hub's shared profile
        # Same texts as the studio, but kept to its own hub: invisible to the museum.
        projected(studio, "west", sharing="hub", name="Private Scan GmbH"),
    ]
    await seed(matcher_url, rows)
    museum_id, studio_id = str(rows[0]["id"]), str(rows[1]["id"])

    first = await invoke(matcher_url, "rescore-all", "--batch", "2", threshold=0.3)
    assert first.exit_code == 0, first.output
    assert "rescored 3 profiles; 1 pairs changed" in first.output
    [match], [record] = await state(matcher_url)
    assert match.pair_id == pair_id(museum_id, studio_id)
    assert (match.status, match.version) == ("suggested", 1)
    assert match.score >= 0.3 and match.components["reciprocal"] > 0
    assert "3D" in match.explanation["summary"]
    # Scored with the running service's weights: the default encoder's calibrated ones
    # (issue 14; calibration gave sector no weight, though its component is still computed).
    weights = MatcherSettings().weights.weights().as_dict()
    assert match.components["sector"] > 0
    assert match.score == pytest.approx(
        sum(weight * match.components[name] for name, weight in weights.items()), abs=1e-3
    )
    assert record.topic == MATCHES.topic("demo") and record.key == match.pair_id
    message = parse_message(record.payload)
    assert message.type == "match.suggested" and message.data.score == match.score

    again = await invoke(matcher_url, "rescore-all", threshold=0.3)
    assert again.exit_code == 0 and "0 pairs changed" in again.output, again.output
    assert len((await state(matcher_url))[1]) == 1  # nothing new to publish

    stricter = await invoke(matcher_url, "rescore-all", "--batch", "1", threshold=0.99)
    assert stricter.exit_code == 0 and "1 pairs changed" in stricter.output, stricter.output
    [match], [_, withdrawal] = await state(matcher_url)
    assert (match.status, match.version) == ("withdrawn", 2)
    assert parse_message(withdrawal.payload).type == "match.withdrawn"


async def test_rescore_all_refuses_a_bad_batch_and_copes_with_no_profiles(
    matcher_url: str,
) -> None:
    refused = await invoke(matcher_url, "rescore-all", "--batch", "0", threshold=0.3)
    assert refused.exit_code == 2 and "batch" in refused.output
    empty = await invoke(matcher_url, "rescore-all", threshold=0.3)
    assert empty.exit_code == 0 and "rescored 0 profiles; 0 pairs changed" in empty.output
