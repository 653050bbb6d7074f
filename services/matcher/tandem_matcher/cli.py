"""`tandem-matcher`: serve the service or migrate its database."""

from __future__ import annotations

from tandem_matcher.app import SPEC
from tandem_shared.cli import service_cli

app = service_cli(SPEC, default_port=8002, factory="tandem_matcher.app:create_app")


def main() -> None:
    app()
