"""`tandem-registry keys`: create a token signing key, and show the JWKS the configured
keys publish (for a rotation, or for a hub that trusts this registry with static keys)."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tandem_registry import signing
from tandem_registry.settings import RegistrySettings
from tandem_shared.identity.keys import KeyProblem, SigningKey

app = typer.Typer(help="Token signing keys (see docs/identity.md).", no_args_is_help=True)


class Algorithm(StrEnum):
    EDDSA = "EdDSA"
    ES256 = "ES256"


@app.command("generate")
def generate(
    out: Annotated[
        Path | None,
        typer.Option(help="write the private key here (mode 0600; never overwritten)"),
    ] = None,
    algorithm: Annotated[
        Algorithm, typer.Option(help="EdDSA (Ed25519) or ES256 (ECDSA P-256)")
    ] = Algorithm.EDDSA,
) -> None:
    """Create a signing key: the PEM goes to --out (or stdout), its key id to stderr."""
    key = SigningKey.generate(algorithm.value)
    if out is None:
        typer.echo(key.pem().decode(), nl=False)
    else:
        try:
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            typer.echo(f"error: {out}: {error.strerror}", err=True)
            raise typer.Exit(1) from error
        with os.fdopen(descriptor, "wb") as file:
            file.write(key.pem())
    typer.echo(f"kid {key.kid} ({key.algorithm})", err=True)


@app.command("jwks")
def jwks() -> None:
    """Print the JWKS this registry publishes with its configured keys."""
    try:
        ring = signing.key_ring(RegistrySettings())
    except KeyProblem as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(ring.jwks(), indent=2))
