"""`tandem-matcher`: serve the service, migrate its database, or rescore every profile
(`rescore-all`, after a model or weight change)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from tqdm import tqdm

from tandem_matcher import bulk
from tandem_matcher.app import SPEC, build_context
from tandem_matcher.settings import MatcherSettings
from tandem_shared.cli import service_cli
from tandem_shared.db import create_engine, create_sessionmaker

app = service_cli(SPEC, default_port=8002, factory="tandem_matcher.app:create_app")


async def _rescore_all(settings: MatcherSettings, batch: int) -> bulk.Summary:
    engine = create_engine(settings.database_url)
    try:
        with tqdm(unit="profile", desc="rescoring", leave=False) as bar:
            return await bulk.rescore_all(
                create_sessionmaker(engine),
                build_context(settings),
                batch=batch,
                progress=bar.update,
            )
    finally:
        await engine.dispose()


@app.command("rescore-all")
def rescore_all(
    batch: Annotated[
        int, typer.Option(min=1, max=4096, help="profiles scored per matrix product")
    ] = 256,
) -> None:
    """Recompute every profile's top-k (blocked matrix products) and publish the changes
    (match.suggested / updated / withdrawn) through the outbox."""
    settings = MatcherSettings()
    summary = asyncio.run(_rescore_all(settings, batch))
    typer.echo(f"rescored {summary.profiles} profiles; {summary.changed} pairs changed")


def main() -> None:
    app()
