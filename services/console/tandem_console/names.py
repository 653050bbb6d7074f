"""Organisation names for lists that carry only profile ids (the matcher's matches): one
registry read per distinct id, concurrently, an unreadable one shown as unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from tandem_console.backend import ApiError, Backend


async def profiles(api: Backend, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    wanted = list(dict.fromkeys(str(profile_id) for profile_id in ids))

    async def read(profile_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await api.get("registry", f"/v1/profiles/{profile_id}")
        except ApiError:
            return None  # erased since, or not visible to this hub
        return found

    found = await asyncio.gather(*(read(profile_id) for profile_id in wanted))
    return dict(zip(wanted, found, strict=True))
