"""Demo data for the dev stack: a few multilingual organisations that should meet, then
real organisations from keep.eu (https://www.keep.eu: Interreg 2014-2020 projects and
partners; credit keep.eu wherever they are shown) that took part in cultural-heritage
projects, through the registry's bulk import."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from tandem_registry.keep_eu import KeepEuData, load_keep_eu, organisation_profile

DEMO_FILE = Path(__file__).with_name("demo_profiles.json")
# The data sits next to the repository (../shared/data/keep_eu); TANDEM_KEEP_EU_DIR moves it.
KEEP_EU_DIR = Path(os.environ.get("TANDEM_KEEP_EU_DIR", "../shared/data/keep_eu"))
KEEP_EU_THEME = "Cultural heritage and arts"
KEEP_EU_LIMIT = 500


def demo_profiles() -> list[dict[str, Any]]:
    profiles: list[dict[str, Any]] = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    return profiles


def login(registry_url: str, email: str, password: str) -> str:
    response = httpx.post(
        f"{registry_url}/v1/auth/token", data={"username": email, "password": password}, timeout=10
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def load_demo(registry_url: str, token: str) -> tuple[int, int]:
    """Post the demo profiles; returns (created, already there)."""
    created = existing = 0
    headers = {"Authorization": f"Bearer {token}"}
    for profile in demo_profiles():
        response = httpx.post(
            f"{registry_url}/v1/profiles", json=profile, headers=headers, timeout=10
        )
        if response.status_code == 409:
            existing += 1
            continue
        response.raise_for_status()
        created += 1
    return created, existing


def heritage_organisations(data: KeepEuData, limit: int = KEEP_EU_LIMIT) -> list[dict[str, Any]]:
    """Profiles of the organisations of projects whose first theme is cultural heritage."""
    heritage = {
        key for key, project in data.projects.items() if project.themes[:1] == (KEEP_EU_THEME,)
    }
    chosen = [org for org in data.organisations if heritage.intersection(org.project_keys)]
    return [organisation_profile(org, data.projects_of(org)) for org in chosen[:limit]]


def load_keep_eu_demo(
    registry_url: str, token: str, data_dir: Path = KEEP_EU_DIR
) -> dict[str, Any] | None:
    """Import the keep.eu heritage subset (idempotent); None when the data is not there."""
    if not (data_dir / "keep1420_partners.csv").is_file():
        return None
    profiles = heritage_organisations(load_keep_eu(data_dir))
    response = httpx.post(
        f"{registry_url}/v1/profiles:import",
        json=profiles,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report
