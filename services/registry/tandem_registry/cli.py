"""`tandem-registry`: serve the service, migrate its database, set up a production's hub and
first admin (`bootstrap`), administer hubs and staff accounts (`create-hub`, `create-user`,
`reset-password`; each of these in one transaction),
import profiles (`import`, one transaction per batch) and manage token keys (`keys`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from tandem_registry import keys_cli, repository, service
from tandem_registry.app import SPEC
from tandem_registry.domain import imports
from tandem_registry.domain.accounts import HubIn, PasswordIn, StaffIn, weak_admin_password
from tandem_registry.domain.imports import ParsedImport
from tandem_registry.keep_eu import keep_eu_profiles, load_keep_eu
from tandem_registry.passwords import Passwords
from tandem_registry.settings import RegistrySettings
from tandem_shared.auth import Principal, Role
from tandem_shared.cli import service_cli
from tandem_shared.db import create_engine, create_sessionmaker, transaction
from tandem_shared.errors import Invalid, NotFound, TandemError

app = service_cli(SPEC, default_port=8001, factory="tandem_registry.app:create_app")
app.add_typer(keys_cli.app, name="keys")

Work = Callable[[AsyncSession], Awaitable[None]]
PasswordOption = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="TANDEM_REGISTRY_NEW_PASSWORD",
        help="asked for when not given (or set TANDEM_REGISTRY_NEW_PASSWORD)",
    ),
]


async def run_in_transaction(work: Work) -> None:
    """Run `work` in one transaction on the configured database: all of it or nothing."""
    engine = create_engine(SPEC.settings_factory().database_url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await work(session)
    finally:
        await engine.dispose()


def _passwords() -> Passwords:
    settings = SPEC.settings_factory()
    assert isinstance(settings, RegistrySettings)
    return Passwords(settings.password_cost)


@contextmanager
def _refusals() -> Iterator[None]:
    """Invalid input or a refused change: a message on stderr and exit status 1."""
    try:
        yield
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            typer.echo(f"error: {field}: {problem['msg']}", err=True)
        raise typer.Exit(1) from error
    except Invalid as error:
        typer.echo(f"error: {error.field}: {error.reason}", err=True)
        raise typer.Exit(1) from error
    except TandemError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


@app.command("create-hub")
def create_hub(
    hub_id: Annotated[str, typer.Argument(help="slug: a-z, 0-9, -")],
    name: Annotated[str, typer.Option(help="the hub's display name")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")],
    region: Annotated[str | None, typer.Option(help="NUTS code")] = None,
    language: Annotated[list[str] | None, typer.Option(help="ISO 639-1; repeatable")] = None,
) -> None:
    """Create a hub."""
    with _refusals():
        hub = HubIn(id=hub_id, name=name, country=country, region=region, languages=language or [])
        asyncio.run(run_in_transaction(lambda session: service.create_hub(session, hub)))
    typer.echo(f"hub {hub.id} created")


@app.command("create-user")
def create_user(
    email: str,
    hub: Annotated[str, typer.Option(help="the hub the account belongs to")],
    password: PasswordOption,
    role: Annotated[Role, typer.Option(help="the account's role")] = Role.STAFF,
) -> None:
    """Create a staff account in an existing hub."""
    with _refusals():
        staff = StaffIn(hub=hub, email=email, password=password, role=role)
        asyncio.run(run_in_transaction(lambda session: _create_staff(session, staff)))
    typer.echo(f"{staff.role.value} {staff.email} created in hub {staff.hub}")


async def _create_staff(session: AsyncSession, staff: StaffIn) -> None:
    await service.create_staff(
        session,
        _passwords(),
        hub=staff.hub,
        email=staff.email,
        password=staff.password.get_secret_value(),
        role=staff.role,
    )


@app.command("reset-password")
def reset_password(email: str, password: PasswordOption) -> None:
    """Set a new password for a staff account."""
    with _refusals():
        secret = PasswordIn(password=password).password.get_secret_value()
        passwords = _passwords()
        asyncio.run(
            run_in_transaction(
                lambda session: service.reset_password(session, passwords, email, secret)
            )
        )
    typer.echo(f"password of {email} reset")


BOOTSTRAP_PASSWORD_ENV = "TANDEM_REGISTRY_BOOTSTRAP_PASSWORD"  # noqa: S105 - its name


def _bootstrap_password() -> str:
    """From the environment, else asked for (hidden, twice); never from the command line,
    where it would stay in the shell's history and in the process list."""
    given = os.environ.get(BOOTSTRAP_PASSWORD_ENV)
    if given:
        return given
    asked: str = typer.prompt(
        "Password of the first admin", hide_input=True, confirmation_prompt=True
    )
    return asked


def _first_admin(hub: str, admin: str) -> StaffIn:
    """The admin's account as validated input, with a password production accepts."""
    staff = StaffIn(hub=hub, email=admin, password=_bootstrap_password(), role=Role.HUB_ADMIN)
    weak = weak_admin_password(staff.password.get_secret_value(), email=staff.email, hub=hub)
    if weak is not None:
        raise Invalid("password", weak)
    return staff


@app.command("bootstrap")
def bootstrap(
    hub: Annotated[str, typer.Option(help="the hub's id (slug); created if missing")],
    admin: Annotated[str, typer.Option(help="the first hub admin's email; created if missing")],
    name: Annotated[str | None, typer.Option(help="a new hub's display name")] = None,
    country: Annotated[str | None, typer.Option(help="a new hub's ISO 3166-1 alpha-2")] = None,
    region: Annotated[str | None, typer.Option(help="a new hub's NUTS code")] = None,
    language: Annotated[list[str] | None, typer.Option(help="ISO 639-1; repeatable")] = None,
) -> None:
    """A production's first step: its hub and first hub admin, each created only if missing
    (a re-run changes nothing). The password comes from TANDEM_REGISTRY_BOOTSTRAP_PASSWORD
    or is asked for; a weak one is refused."""
    with _refusals():
        new_hub = None
        if name is not None or country is not None:
            new_hub = HubIn.model_validate(
                {"id": hub, "name": name, "country": country, "region": region}
                | {"languages": language or []}
            )
        staff = _first_admin(hub, admin)
        done = asyncio.run(_bootstrap(new_hub, staff))
    email = staff.email.lower()  # as stored and signed in with
    typer.echo(f"hub {hub} {'created' if done.hub_created else 'exists'}")
    typer.echo(
        f"hub_admin {email} created"
        if done.admin_created
        else f"hub_admin {email} exists (password unchanged; see reset-password)"
    )


async def _bootstrap(new_hub: HubIn | None, staff: StaffIn) -> service.Bootstrapped:
    done: list[service.Bootstrapped] = []

    async def work(session: AsyncSession) -> None:
        done.append(
            await service.bootstrap(
                session,
                _passwords(),
                hub_id=staff.hub,
                new_hub=new_hub,
                admin=staff.email,
                password=staff.password.get_secret_value(),
            )
        )

    await run_in_transaction(work)
    return done[0]


class ImportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"
    KEEP_EU = "keep-eu"


_SUFFIX_FORMATS = {
    ".csv": ImportFormat.CSV,
    ".jsonl": ImportFormat.JSONL,
    ".ndjson": ImportFormat.JSONL,
    ".json": ImportFormat.JSON,
}


def _read_import(path: Path, fmt: ImportFormat | None) -> ParsedImport:
    """The rows of `path`; keep-eu (the default for a directory) reads keep.eu's CSVs."""
    fmt = fmt or (ImportFormat.KEEP_EU if path.is_dir() else _SUFFIX_FORMATS.get(path.suffix))
    if fmt is None:
        raise imports.ImportFormatError("format", "say --format: csv, jsonl, json or keep-eu")
    if fmt is ImportFormat.KEEP_EU:
        profiles = keep_eu_profiles(load_keep_eu(path))
        return imports.validate_records(enumerate(profiles, start=1))
    return imports.parse_import(path.read_bytes(), fmt.value)


async def _import_rows(hub: str, rows: Sequence[imports.ImportRow]) -> service.ImportCounts:
    """Import in batches, one transaction each (a re-run finishes an interrupted import:
    rows already in are unchanged), with a progress bar."""
    settings = SPEC.settings_factory()
    principal = Principal(subject="cli:import", hub=hub, role=Role.HUB_ADMIN)
    counts = service.ImportCounts()
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessionmaker(engine)
        async with transaction(sessions) as session:
            if await repository.get_hub(session, hub) is None:
                raise NotFound(f"hub {hub!r} does not exist")
        with tqdm(total=len(rows), unit="profile", desc=f"import into {hub}") as progress:
            for start in range(0, len(rows), service.IMPORT_BATCH):
                batch = rows[start : start + service.IMPORT_BATCH]
                async with transaction(sessions) as session:
                    counts.add(await service.import_profiles(session, principal, batch))
                progress.update(len(batch))
    finally:
        await engine.dispose()
    return counts


@app.command("import")
def import_profiles(
    path: Annotated[
        Path, typer.Argument(help="a CSV / JSON lines / JSON file, or keep.eu's directory")
    ],
    hub: Annotated[
        str | None, typer.Option(help="the hub to import into (default: this instance's)")
    ] = None,
    fmt: Annotated[
        ImportFormat | None, typer.Option("--format", help="default: from the file name")
    ] = None,
) -> None:
    """Create or update a hub's profiles by external_id.

    Columns: see docs/registry.md. Bad rows are listed on stderr (exit status 1); the good rows
    go in.
    """
    with _refusals():
        if not path.exists():
            raise NotFound(f"{path} does not exist")
        parsed = _read_import(path, fmt)
        target = hub or SPEC.settings_factory().hub
        counts = asyncio.run(_import_rows(target, [profile for _, profile in parsed.rows]))
    for error in parsed.errors:
        typer.echo(f"row {error.row}: {error.field}: {error.reason}", err=True)
    typer.echo(
        f"{counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{len(parsed.errors)} rejected (hub {target})"
    )
    if parsed.errors:
        raise typer.Exit(1)


def main() -> None:
    app()
