"""The registry's admin CLI against PostgreSQL: bootstrap, create-hub, create-user,
reset-password and import; a refused command writes nothing, and the accounts it makes can
sign in over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tandem_registry.app import create_app
from tandem_registry.cli import BOOTSTRAP_PASSWORD_ENV
from tandem_registry.cli import app as cli
from tandem_registry.settings import RegistrySettings
from tandem_registry.tables import hubs, profiles, staff
from tandem_shared.contracts import PROFILES, parse_message
from tandem_shared.db import create_engine
from tests.support import login, read_topic, running, service_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def registry_url(clean_databases: dict[str, str]) -> str:
    return clean_databases["registry"]


async def invoke(
    url: str, *args: str, env: dict[str, str] | None = None, typed: str | None = None
) -> Result:
    """Run `tandem-registry ARGS` against the test database (in a thread: the command runs
    its own event loop), with more environment and what is `typed` at its prompts."""
    env = {"TANDEM_REGISTRY_DATABASE_URL": url, **(env or {})}
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env, input=typed)


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
        topic = topic_prefix + PROFILES.topic("north")
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


async def stored_profiles(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            query = select(profiles).order_by(profiles.c.external_id)
            return list((await connection.execute(query)).mappings())
    finally:
        await engine.dispose()


async def test_import_creates_updates_and_reports_bad_rows(
    registry_url: str, tmp_path: Path
) -> None:
    assert (
        await invoke(registry_url, "create-hub", "north", "--name", "N", "--country", "DE")
    ).exit_code == 0
    good = {"name": "Werkstatt", "kind": "creative", "country": "DE", "external_id": "w-1"}
    lines = [json.dumps(good), json.dumps({**good, "external_id": "w-2", "kind": "bank"})]
    jsonl = tmp_path / "profiles.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")

    first = await invoke(registry_url, "import", str(jsonl), "--hub", "north")
    assert first.exit_code == 1, first.output  # a row was rejected
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in first.output
    assert "row 2: kind:" in first.output
    [werkstatt] = await stored_profiles(registry_url)
    assert (werkstatt.hub, werkstatt.external_id, werkstatt.version) == ("north", "w-1", 1)

    table = tmp_path / "profiles.csv"
    table.write_text(
        "external_id,name,kind,country\nw-1,Werkstatt Nord,creative,DE\nw-3,Atelier,creative,DE\n"
    )
    second = await invoke(registry_url, "import", str(table), "--hub", "north")
    assert second.exit_code == 0, second.output
    assert "1 created, 1 updated, 0 unchanged, 0 rejected" in second.output
    again = await invoke(registry_url, "import", str(table), "--hub", "north", "--format", "csv")
    assert "0 created, 0 updated, 2 unchanged" in again.output
    stored = await stored_profiles(registry_url)
    assert [(p.external_id, p.name, p.version) for p in stored] == [
        ("w-1", "Werkstatt Nord", 2),
        ("w-3", "Atelier", 1),
    ]

    refused = {
        "hub 'nowhere' does not exist": ["import", str(table), "--hub", "nowhere"],
        "does not exist": ["import", str(tmp_path / "missing.csv"), "--hub", "north"],
        "unknown columns": ["import", str(_write(tmp_path / "bad.csv", "external_id,colour\nx,red\n")), "--hub", "north"],
    }  # fmt: skip
    for expected, args in refused.items():
        result = await invoke(registry_url, *args)
        assert result.exit_code == 1 and expected in result.output, (args, result.output)
    assert await stored_profiles(registry_url) == stored


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BOOTSTRAP = ["bootstrap", "--hub", "rzeszow", "--admin", "Admin@Muzeum.example"]
NEW_HUB = ["--name", "Rzeszów hub", "--country", "PL", "--language", "pl"]
STRONG = "vistula-amber-lantern-42"


def _password(value: str) -> dict[str, str]:
    return {BOOTSTRAP_PASSWORD_ENV: value}


async def test_bootstrap_makes_the_first_admin_once_and_it_signs_in(
    registry_url: str, kafka: Any, topic_prefix: str
) -> None:
    first = await invoke(registry_url, *BOOTSTRAP, *NEW_HUB, env=_password(STRONG))
    assert first.exit_code == 0, first.output
    assert "hub rzeszow created" in first.output and "admin@muzeum.example created" in first.output
    created = await accounts(registry_url)

    again = await invoke(registry_url, *BOOTSTRAP, *NEW_HUB, env=_password("another-" + STRONG))
    assert again.exit_code == 0, again.output
    assert "hub rzeszow exists" in again.output and "password unchanged" in again.output
    assert await accounts(registry_url) == created  # nothing changed, the password neither

    [hub], [admin] = created
    assert (hub.name, hub.country, hub.languages) == ("Rzeszów hub", "PL", ["pl"])
    assert (admin.email, admin.hub, admin.role) == ("admin@muzeum.example", "rzeszow", "hub_admin")
    settings = service_settings(
        RegistrySettings,
        database_url=registry_url,
        kafka=kafka,
        prefix=topic_prefix,
        seed_dev_admin=False,
    )
    async with running(create_app(settings)) as client:
        auth = await login(client, "admin@muzeum.example", STRONG)
        body = {"name": "Muzeum Okręgowe w Rzeszowie", "kind": "heritage", "country": "PL"}
        profile = await client.post("/v1/profiles", json=body, headers=auth)
    assert profile.status_code == 201 and profile.json()["hub"] == "rzeszow"
    claims = jwt.decode(auth["Authorization"].split()[1], options={"verify_signature": False})
    assert (claims["hub"], claims["role"]) == ("rzeszow", "hub_admin")


async def test_bootstrap_asks_for_the_password_and_never_takes_it_from_the_command_line(
    registry_url: str,
) -> None:
    on_argv = await invoke(registry_url, *BOOTSTRAP, *NEW_HUB, "--password", STRONG)
    assert on_argv.exit_code == 2 and "No such option" in on_argv.output
    mistyped = await invoke(registry_url, *BOOTSTRAP, *NEW_HUB, typed=f"{STRONG}\nother\n" * 3)
    assert mistyped.exit_code != 0
    assert await accounts(registry_url) == ([], [])
    asked = await invoke(registry_url, *BOOTSTRAP, *NEW_HUB, typed=f"{STRONG}\n{STRONG}\n")
    assert asked.exit_code == 0, asked.output
    assert STRONG not in asked.output  # the prompt hides what is typed
    [_], [admin] = await accounts(registry_url)
    assert admin.email == "admin@muzeum.example"


async def test_bootstrap_refusals_write_nothing(registry_url: str) -> None:
    other = await invoke(registry_url, "create-hub", "other", "--name", "O", "--country", "DE")
    assert other.exit_code == 0
    taken = ["create-user", "boss@other.example", "--hub", "other", "--password", "long-enough"]
    assert (await invoke(registry_url, *taken)).exit_code == 0
    before = await accounts(registry_url)
    refusals = {
        "at least 12 characters": (NEW_HUB, "Short-1a!"),
        "different characters": (NEW_HUB, "abababababababab"),
        "common password": (NEW_HUB, "MyPassword2027!"),
        "dev default": (NEW_HUB, "tandem-dev-tandem-dev"),
        "the hub's id": (NEW_HUB, "rzeszow-rocks-2027!"),
        "hub 'rzeszow' does not exist: give its name and country": ([], STRONG),
        "country": (["--name", "R", "--country", "pl"], STRONG),
    }
    for expected, (hub_options, password) in refusals.items():
        result = await invoke(registry_url, *BOOTSTRAP, *hub_options, env=_password(password))
        assert result.exit_code == 1, (expected, result.output)
        assert expected in result.output, (expected, result.output)
    elsewhere = ["bootstrap", "--hub", "rzeszow", "--admin", "boss@other.example", *NEW_HUB]
    moved = await invoke(registry_url, *elsewhere, env=_password(STRONG))
    assert moved.exit_code == 1 and "already a staff of hub 'other'" in moved.output
    assert await accounts(registry_url) == before  # not even the new hub was created
