"""Demo data for the dev stack: a few multilingual organisations that should meet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

DEMO_FILE = Path(__file__).with_name("demo_profiles.json")


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
