"""`tandem-notifier`: serve the service or migrate its database."""

from __future__ import annotations

from tandem_notifier.app import SPEC
from tandem_shared.cli import service_cli

app = service_cli(SPEC, default_port=8004, factory="tandem_notifier.app:create_app")


def main() -> None:
    app()
