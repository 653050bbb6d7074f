"""`python -m tandem_tools.migration SERVICE "message"`: autogenerate a service's next
migration by comparing its tables with a scratch database at head."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import tempfile
from pathlib import Path

from alembic import command

from tandem_shared.migrations import alembic_config, upgrade


def new_revision(service: str, message: str) -> None:
    spec = importlib.import_module(f"tandem_{service}.app").SPEC
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}"
        asyncio.run(upgrade(url, spec.migrations))
        command.revision(alembic_config(url, spec.migrations), message=message, autogenerate=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=["registry", "matcher", "events", "notifier"])
    parser.add_argument("message")
    args = parser.parse_args()
    new_revision(args.service, args.message)


if __name__ == "__main__":
    main()
