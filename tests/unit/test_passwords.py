"""Password hashing: Argon2id at the standard cost, and the minimal cost tests use."""

from __future__ import annotations

import pytest

from tandem_registry.passwords import Passwords


async def test_a_standard_hash_verifies_its_password_only() -> None:
    passwords = Passwords("standard")
    hashed = await passwords.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert await passwords.verify(hashed, "correct horse battery")
    assert not await passwords.verify(hashed, "correct horse battery!")
    assert not passwords.needs_rehash(hashed)


async def test_a_hash_of_another_cost_still_verifies_and_asks_for_a_rehash() -> None:
    cheap = await Passwords("minimal").hash("correct horse battery")
    assert await Passwords("standard").verify(cheap, "correct horse battery")
    assert Passwords("standard").needs_rehash(cheap)


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$broken"])
async def test_a_corrupt_stored_hash_verifies_nothing(stored: str) -> None:
    assert not await Passwords("standard").verify(stored, "anything")
