"""`tandem-events`: serve the service or migrate its database."""

from __future__ import annotations

from tandem_events.app import SPEC
from tandem_shared.cli import service_cli

app = service_cli(SPEC, default_port=8003, factory="tandem_events.app:create_app")


def main() -> None:
    app()
