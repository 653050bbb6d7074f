"""The registry under test: its app over ASGI with two hubs' accounts signed in, and ways
to look at its tables and its topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tandem_registry import service
from tandem_registry.app import create_app
from tandem_registry.passwords import Passwords
from tandem_registry.settings import RegistrySettings
from tandem_registry.tables import metadata
from tandem_shared.auth import Role
from tandem_shared.contracts import PROFILES
from tandem_shared.db import transaction
from tests.support import complementary_profiles, login, read_topic, running, service_settings

PASSWORD = "a-long-test-password"


@dataclass
class Registry:
    client: httpx.AsyncClient
    app: FastAPI
    kafka: Any
    prefix: str
    admin: dict[str, str]  # hub_admin of hub demo
    north: dict[str, str]  # staff of hub north
    network: dict[str, str]  # network_admin of hub north

    async def post(self, body: dict[str, Any], auth: dict[str, str] | None = None) -> Any:
        response = await self.client.post("/v1/profiles", json=body, headers=auth or self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    async def messages(self, expect: int, timeout: float = 20.0) -> list[Any]:
        topic = self.prefix + PROFILES.topic("demo")
        return await read_topic(self.kafka.bootstrap, topic, expect=expect, timeout=timeout)

    async def rows(self, table: Any) -> list[dict[str, Any]]:
        async with transaction(self.app.state.runtime.sessionmaker) as session:
            return [dict(row) for row in (await session.execute(select(table))).mappings()]

    async def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every registry row, except the relay's own bookkeeping (`sent_at`)."""
        tables = {table.name: await self.rows(table) for table in metadata.sorted_tables}
        return {
            name: sorted(
                ({k: v for k, v in row.items() if k != "sent_at"} for row in rows), key=repr
            )
            for name, rows in tables.items()
        }


async def add_staff(app: FastAPI, *, hub: str, email: str, role: Role) -> None:
    async with transaction(app.state.runtime.sessionmaker) as session:
        await service.ensure_hub(session, hub_id=hub, name=hub, country="DE", languages=["de"])
        passwords = Passwords(app.state.runtime.settings.password_cost)
        await service.create_staff(
            session, passwords, hub=hub, email=email, password=PASSWORD, role=role
        )


@asynccontextmanager
async def running_registry(
    databases: dict[str, str], kafka: Any, topic_prefix: str
) -> AsyncIterator[Registry]:
    """The registry app with hub demo (its hub_admin) and hub north (a staff member and a
    network_admin), each signed in."""
    settings = service_settings(
        RegistrySettings,
        database_url=databases["registry"],
        kafka=kafka,
        prefix=topic_prefix,
    )
    app = create_app(settings)
    async with running(app) as client:
        await add_staff(app, hub="north", email="staff@north.example", role=Role.STAFF)
        await add_staff(app, hub="north", email="net@north.example", role=Role.NETWORK_ADMIN)
        registry = Registry(
            client=client,
            app=app,
            kafka=kafka,
            prefix=topic_prefix,
            admin=await login(client),
            north=await login(client, "staff@north.example", PASSWORD),
            network=await login(client, "net@north.example", PASSWORD),
        )
        yield registry


def museum(**changes: Any) -> dict[str, Any]:
    profile, _ = complementary_profiles()
    return {**profile, **changes}


CONTACT = {"name": "Anna Nowak", "email": "anna.nowak@example.org", "phone": "+48 17 853 52 78"}
