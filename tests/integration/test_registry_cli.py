"""The registry's admin CLI against PostgreSQL: create-hub, create-user, reset-password; a
refused command writes nothing, and the accounts it makes can sign in over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tandem_registry.app import create_app
from tandem_registry.cli import app as cli
from tandem_registry.settings import RegistrySettings
from tandem_registry.tables import hubs, staff
from tandem_shared.contracts import PROFILES, parse_message
from tandem_shared.db import create_engine
from tests.support import login, read_topic, running, service_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def registry_url(clean_databases: dict[str, str]) -> str:
    return clean_databases["registry"]


async def invoke(url: str, *args: str) -> Result:
    """Run `tandem-registry ARGS` against the test database (in a thread: the command runs
    its own event loop)."""
    env = {"TANDEM_REGISTRY_DATABASE_URL": url}
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)


async def accounts(url: str) -> tuple[Sequence[Any], Sequence[Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            hub_rows = (await connection.execute(select(hubs).order_by(hubs.c.id))).all()
            staff_rows = (await connection.execute(select(staff).order_by(staff.c.email))).all()
    finally:
        await engine.dispose()
    return hub_rows, staff_rows


async def test_admin_commands_create_hubs_and_accounts_that_sign_in(
    registry_url: str, kafka: Any, topic_prefix: str
) -> None:
    hub = ["create-hub", "north", "--name", "North Hub", "--country", "DE"]
    created = await invoke(registry_url, *hub, "--region", "DED2", "--language", "de")
    assert created.exit_code == 0, created.output
    user = ["create-user", "Ada@North.example", "--hub", "north", "--role", "hub_admin"]
    assert (await invoke(registry_url, *user, "--password", "first-password")).exit_code == 0
    reset = ["reset-password", "ada@north.example", "--password", "second-password"]
    assert (await invoke(registry_url, *reset)).exit_code == 0

    [north], [ada] = await accounts(registry_url)
    assert (north.name, north.country, north.region, north.languages) == (
        "North Hub",
        "DE",
        "DED2",
        ["de"],
    )
    assert (ada.email, ada.hub, ada.role) == ("ada@north.example", "north", "hub_admin")
    assert "second-password" not in ada.password_hash

    settings = service_settings(
        RegistrySettings,
        database_url=registry_url,
        kafka=kafka,
        prefix=topic_prefix,
        seed_dev_admin=False,
    )
    async with running(create_app(settings)) as client:
        with pytest.raises(httpx.HTTPStatusError):
            await login(client, "ada@north.example", "first-password")
        auth = await login(client, "ada@north.example", "second-password")
        body = {"name": "Werkstatt", "kind": "creative", "country": "DE"}
        profile = await client.post("/v1/profiles", json=body, headers=auth)
        assert profile.status_code == 201 and profile.json()["hub"] == "north"
        # The account's profile is published under its own hub.
        topic = topic_prefix + PROFILES.name
        [record] = await read_topic(kafka.bootstrap, topic, expect=1)
        assert parse_message(record.value).hub == "north"


async def test_refused_commands_write_nothing(registry_url: str) -> None:
    setup = await invoke(registry_url, "create-hub", "north", "--name", "N", "--country", "DE")
    assert setup.exit_code == 0
    assert (
        await invoke(registry_url, "create-user", "a@north.example", "--hub", "north",
                     "--password", "long-enough")
    ).exit_code == 0  # fmt: skip
    before = await accounts(registry_url)

    refusals = {
        "hub 'north' exists": ["create-hub", "north", "--name", "N", "--country", "DE"],
        "country": ["create-hub", "south", "--name", "S", "--country", "de"],
        "id:": ["create-hub", "South Hub!", "--name", "S", "--country", "DE"],
        "languages": ["create-hub", "west", "--name", "W", "--country", "DE", "--language", "deu"],
        "hub 'nowhere' does not exist": [
            "create-user", "b@x.example", "--hub", "nowhere", "--password", "long-enough"
        ],
        "exists": ["create-user", "A@north.example", "--hub", "north", "--password", "long-enough"],
        "email": ["create-user", "not-an-email", "--hub", "north", "--password", "long-enough"],
        "password": ["create-user", "c@north.example", "--hub", "north", "--password", "short"],
        "no account": ["reset-password", "nobody@north.example", "--password", "long-enough"],
    }  # fmt: skip
    for expected, args in refusals.items():
        result = await invoke(registry_url, *args)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output, (args, result.output)
    assert await accounts(registry_url) == before
