"""The command line every service shares: `serve` and `migrate`, `dlq list | show | replay`
and `outbox republish` (services add their own)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
import uvicorn
from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncSession

from tandem_shared.bus import operator
from tandem_shared.bus.dead_letters import DeadLetter, NotReplayable
from tandem_shared.db import create_engine, create_sessionmaker, transaction
from tandem_shared.migrations import upgrade
from tandem_shared.runtime import ServiceSpec

T = TypeVar("T")


def service_cli(spec: ServiceSpec, *, default_port: int, factory: str) -> typer.Typer:
    app = typer.Typer(help=f"Tandem {spec.name}", no_args_is_help=True)

    @app.command()
    def serve(host: str = "127.0.0.1", port: int = default_port) -> None:
        """Run the service (HTTP API, outbox relay and consumers)."""
        uvicorn.run(factory, factory=True, host=host, port=port, log_level="warning")

    @app.command()
    def migrate() -> None:
        """Bring the service's database to the newest schema."""
        settings = spec.settings_factory()
        asyncio.run(upgrade(settings.database_url, spec.migrations))
        typer.echo(f"{spec.name}: database at head")

    app.add_typer(_dlq_cli(spec), name="dlq")
    app.add_typer(_outbox_cli(spec), name="outbox")
    return app


async def _in_transaction(spec: ServiceSpec, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(spec.settings_factory().database_url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def _listed(spec: ServiceSpec) -> list[operator.Listed]:
    settings = spec.settings_factory()
    try:
        letters = await operator.read_dead_letters(settings, spec.name)
    except KafkaError as error:
        typer.echo(f"error: the broker at {settings.kafka_bootstrap} failed: {error}", err=True)
        raise typer.Exit(1) from error
    return await _in_transaction(
        spec, lambda session: operator.list_dead_letters(session, spec.tables, letters)
    )


def _dlq_cli(spec: ServiceSpec) -> typer.Typer:
    dlq = typer.Typer(help="Dead letters of this service's consumers", no_args_is_help=True)

    @dlq.command("list")
    def list_letters(
        pending: Annotated[bool, typer.Option(help="only those not handled since")] = False,
    ) -> None:
        """Each dead-lettered message once: id, status, copies, when, topic, reason."""
        listed = asyncio.run(_listed(spec))
        shown = [item for item in listed if not (pending and item.handled)]
        for item in shown:
            letter = item.letter
            error = letter.marks.get("dlq_error", "")[:120]
            typer.echo(
                f"{letter.id}  {'handled' if item.handled else 'pending'}  "
                f"{item.entry.copies}x  {letter.timestamp:%Y-%m-%d %H:%M:%S}  "
                f"{letter.original_topic}  {letter.reason}: {error}"
            )
        waiting = sum(not item.handled for item in listed)
        typer.echo(f"{len(listed)} dead-lettered messages, {waiting} pending")

    @dlq.command("show")
    def show(letter_id: Annotated[str, typer.Argument(help="the id `dlq list` prints")]) -> None:
        """One dead letter: where it came from, why, its headers and value."""
        item = _find(asyncio.run(_listed(spec)), letter_id)
        _print_letter(item)

    @dlq.command("replay")
    def replay(
        letter_id: Annotated[
            str | None, typer.Option("--id", help="only this one (default: every pending one)")
        ] = None,
    ) -> None:
        """Send dead-lettered messages through the consumers again, after a fix.

        Their inboxes make a message that was handled already a no-op."""
        listed = asyncio.run(_listed(spec))
        chosen = [_find(listed, letter_id)] if letter_id else [i for i in listed if not i.handled]
        try:
            count = asyncio.run(
                operator.replay(spec.settings_factory(), [item.letter for item in chosen])
            )
        except NotReplayable as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from error
        typer.echo(f"{count} dead-lettered messages replayed")

    return dlq


def _find(listed: list[operator.Listed], letter_id: str) -> operator.Listed:
    for item in listed:
        if item.letter.id == letter_id:
            return item
    typer.echo(f"error: no dead letter {letter_id!r} (see `dlq list`)", err=True)
    raise typer.Exit(1)


def _print_letter(item: operator.Listed) -> None:
    letter: DeadLetter = item.letter
    typer.echo(f"id:        {letter.id} ({'handled' if item.handled else 'pending'})")
    typer.echo(f"copies:    {item.entry.copies}")
    for name, value in sorted(letter.marks.items()):
        typer.echo(f"{name.removeprefix('dlq_') + ':':<20} {value}")
    typer.echo(f"key:       {(letter.key or b'').decode('utf-8', 'replace')}")
    for name, raw in letter.headers:
        typer.echo(f"header:    {name} = {raw.decode('utf-8', 'replace')}")
    value = (letter.value or b"").decode("utf-8", "replace")
    typer.echo(f"value ({len(letter.value or b'')} bytes):\n{value[:4000]}")


def _outbox_cli(spec: ServiceSpec) -> typer.Typer:
    outbox = typer.Typer(help="This service's outbox", no_args_is_help=True)

    @outbox.command("republish")
    def republish(
        since: Annotated[
            datetime,
            typer.Option(help="republish what was written since (ISO 8601; UTC if no offset)"),
        ],
    ) -> None:
        """Publish again what this service wrote since a time, for a broker that lost
        messages (the outbox keeps sent rows 7 days). The service's relay sends them in
        their order; consumers drop those they already had."""
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        count = asyncio.run(
            _in_transaction(
                spec, lambda session: operator.republish_since(session, spec.tables, moment)
            )
        )
        typer.echo(
            f"{count} messages since {moment.isoformat()} queued for publishing again "
            f"(the running {spec.name} service's relay sends them)"
        )

    return outbox
