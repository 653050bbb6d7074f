"""The test harness's plain parts (no fixtures): which engines are available, the broker
handle the fixtures yield, and emptying the services' tables between tests."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from sqlalchemy import MetaData

from tandem_shared.db import create_engine

SERVICE_NAMES = ("registry", "matcher", "events", "notifier")


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass(frozen=True)
class Kafka:
    bootstrap: str
    idempotence: bool


def service_metadata(name: str) -> MetaData:
    module = __import__(f"tandem_{name}.tables", fromlist=["metadata"])
    metadata: MetaData = module.metadata
    return metadata


async def empty_tables(urls: dict[str, str]) -> None:
    for service, url in urls.items():
        engine = create_engine(url)
        async with engine.begin() as connection:
            for table in reversed(service_metadata(service).sorted_tables):
                await connection.execute(table.delete())
        await engine.dispose()
