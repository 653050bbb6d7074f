"""Password hashing: Argon2id, run off the event loop.

A hash costs about a CPU-second on a busy two-core host by design, so it runs in a
thread: a sign-in must not stall the service's consumers and heartbeats meanwhile. The
`minimal` cost exists for test suites and demo stacks that create hundreds of accounts;
production refuses it (see RegistrySettings)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

PasswordCost = Literal["standard", "minimal"]

_HASHERS: dict[PasswordCost, PasswordHasher] = {
    "standard": PasswordHasher(),  # RFC 9106's low-memory profile
    "minimal": PasswordHasher.from_parameters(profiles.CHEAPEST),
}


@dataclass(frozen=True)
class Passwords:
    cost: PasswordCost = "standard"

    @property
    def _hasher(self) -> PasswordHasher:
        return _HASHERS[self.cost]

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made at another cost: a sign-in upgrades it."""
        return self._hasher.check_needs_rehash(password_hash)
