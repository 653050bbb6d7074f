"""`tandem-registry`: serve the service, migrate its database, and administer hubs and staff
accounts (`create-hub`, `create-user`, `reset-password`), each in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_registry import service
from tandem_registry.app import SPEC
from tandem_registry.domain.accounts import HubIn, PasswordIn, StaffIn
from tandem_shared.auth import Role
from tandem_shared.cli import service_cli
from tandem_shared.db import create_engine, create_sessionmaker, transaction

app = service_cli(SPEC, default_port=8001, factory="tandem_registry.app:create_app")

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
    except (service.NotFound, service.Conflict) as error:
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
        asyncio.run(
            run_in_transaction(lambda session: service.reset_password(session, email, secret))
        )
    typer.echo(f"password of {email} reset")


def main() -> None:
    app()
