"""Which consents a profile change records (pure).

The public contract carries no consent flag, so the registry keeps an audit trail instead:
whenever a hub stores a contact (personal data) or starts sharing a profile with the
network, a `consents` row says for which purpose, which staff account recorded it and
when. The rows go with the profile on erasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Purpose(StrEnum):
    CONTACT_STORAGE = "contact_storage"
    NETWORK_SHARING = "network_sharing"


def purposes(before: Mapping[Any, Any] | None, after: Mapping[Any, Any]) -> list[Purpose]:
    """The purposes `after` newly relies on compared with `before` (None: a new profile):
    a contact that is new or different, sharing that became `network`."""
    found = []
    contact = after.get("contact")
    if contact and (before is None or before.get("contact") != contact):
        found.append(Purpose.CONTACT_STORAGE)
    if after.get("sharing") == "network" and (before is None or before.get("sharing") != "network"):
        found.append(Purpose.NETWORK_SHARING)
    return found
