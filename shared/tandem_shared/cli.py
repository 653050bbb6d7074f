"""The command line every service shares: `serve` and `migrate` (services add their own)."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from tandem_shared.migrations import upgrade
from tandem_shared.runtime import ServiceSpec


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

    return app
