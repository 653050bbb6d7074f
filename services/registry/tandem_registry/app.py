"""The registry service: hubs, staff, organisation profiles; publishes
tandem.<hub>.profiles.v1 and, for shared profiles, tandem.network.<hub>.profiles.v1."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from tandem_registry import api, repository, service, signing
from tandem_registry.passwords import Passwords
from tandem_registry.settings import RegistrySettings
from tandem_registry.tables import bus, metadata
from tandem_shared.auth import Role
from tandem_shared.db import transaction
from tandem_shared.identity.jwks import StaticKeys
from tandem_shared.logging import get_logger
from tandem_shared.runtime import Runtime, ServiceSpec, create_service_app

log = get_logger(__name__)


def dev_admin(hub: str) -> str:
    """The seeded dev admin of `hub`: admin@demo.local for `make run`, admin@north.local
    and admin@south.local for `make run-federation`."""
    return f"admin@{hub}.local"


async def _start(runtime: Runtime) -> None:
    _load_keys(runtime)
    await _seed_dev_admin(runtime)


def _load_keys(runtime: Runtime) -> None:
    """The key ring the token route signs with and the JWKS route publishes; the registry
    verifies its own tokens with it."""
    settings: RegistrySettings = runtime.settings
    ring = signing.key_ring(settings)
    runtime.state["key_ring"] = ring
    runtime.verifier.trust(signing.own_issuer(settings, ring), StaticKeys(ring.published))
    log.info("registry.keys_loaded", issuer=settings.issuer, signing_kid=ring.signing.kid)


async def _seed_dev_admin(runtime: Runtime) -> None:
    """In development, hub `TANDEM_HUB` (`demo`) with its admin exists so the stack is
    usable at once."""
    settings: RegistrySettings = runtime.settings
    admin = dev_admin(settings.hub)
    if settings.environment != "dev" or not settings.seed_dev_admin:
        return
    async with transaction(runtime.sessionmaker) as session:
        await service.ensure_hub(
            session,
            hub_id=settings.hub,
            name=f"{settings.hub.capitalize()} hub",
            country="PL",
            languages=["en", "pl", "de"],
        )
        if await repository.staff_by_email(session, admin) is None:
            await service.create_staff(
                session,
                Passwords(settings.password_cost),
                hub=settings.hub,
                email=admin,
                password=settings.dev_admin_password.get_secret_value(),
                role=Role.HUB_ADMIN,
            )
            log.info("registry.dev_admin_created", email=admin)


SPEC = ServiceSpec(
    name="registry",
    settings_factory=RegistrySettings,
    metadata=metadata,
    tables=bus,
    migrations=Path(__file__).parent / "migrations",
    routers=[api.router, api.well_known],
    on_startup=_start,
    description="Hubs, staff accounts and organisation profiles of a regional hub.",
    larger_bodies={"/v1/profiles:import": api.MAX_IMPORT_BYTES},
)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings)
