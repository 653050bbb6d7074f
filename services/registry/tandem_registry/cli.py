"""`tandem-registry`: serve the service or migrate its database."""

from __future__ import annotations

from tandem_shared.cli import service_cli

from tandem_registry.app import SPEC

app = service_cli(SPEC, default_port=8001, factory="tandem_registry.app:create_app")


def main() -> None:
    app()
