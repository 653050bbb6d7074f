"""Keys and where verifiers get them: key ids, the registry's key ring and its rotation,
the development key, the JWKS cache (refresh on an unknown `kid`, rate limit, expiry), and
the `tandem-registry keys` commands."""

from __future__ import annotations

import asyncio
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from tandem_registry.keys_cli import app as keys_app
from tandem_shared.auth import InvalidToken, Principal, Role
from tandem_shared.identity.issuers import TrustedIssuer
from tandem_shared.identity.jwks import JwksCache, StaticKeys, usable_keys
from tandem_shared.identity.keys import KeyProblem, KeyRing, SigningKey, dev_key_pem, thumbprint
from tandem_shared.identity.principal import KeysUnavailable
from tandem_shared.identity.tokens import TokenVerifier, issue_token

pytestmark = pytest.mark.unit

ISSUER = "https://registry.north.example"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
ALICE = Principal(subject="alice@north.example", hub="north", role=Role.STAFF)


def token(key: SigningKey) -> str:
    return issue_token(ALICE, key=key, issuer=ISSUER)


# ------------------------------------------------------------------------------ keys


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    """RFC 7638 section 3.1's example key and thumbprint."""
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_a_signing_key_survives_its_pem_and_publishes_only_its_public_half(algorithm: str) -> None:
    key = SigningKey.generate(algorithm)
    again = SigningKey.from_pem(key.pem())
    assert (again.kid, again.algorithm) == (key.kid, algorithm)
    jwk = key.public_jwk()
    assert jwk["kid"] == key.kid and jwk["alg"] == algorithm and jwk["use"] == "sig"
    assert "d" not in jwk  # never the private part


@pytest.mark.parametrize(
    "pem",
    [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
    ids=["empty", "text", "damaged"],
)
def test_an_unusable_signing_key_is_refused_with_a_reason(pem: bytes) -> None:
    with pytest.raises(KeyProblem, match="PEM"):
        SigningKey.from_pem(pem)


def test_a_registry_does_not_sign_with_other_algorithms() -> None:
    with pytest.raises(KeyProblem, match="EdDSA or ES256"):
        SigningKey.generate("HS256")


def test_the_dev_key_is_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "registry-demo.pem"
    with ThreadPoolExecutor(8) as pool:  # racing first starts agree on one key
        pems = set(pool.map(lambda _: dev_key_pem(path), range(8)))
    assert len(pems) == 1
    assert dev_key_pem(path) == pems.pop()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["registry-demo.pem"]


# ------------------------------------------------------------------------------ rotation


async def test_rotation_publishes_two_keys_and_both_verify() -> None:
    """Step 2 of a rotation: sign with the new key, still publish the old one."""
    old, new = SigningKey.generate(), SigningKey.generate("ES256")
    ring = KeyRing.load(new.pem(), [old.pem()])
    assert ring.signing.kid == new.kid
    assert [jwk["kid"] for jwk in ring.jwks()["keys"]] == [new.kid, old.kid]
    trusted = TrustedIssuer(issuer=ISSUER, hubs=["north"], jwks=ring.jwks())
    verifier = TokenVerifier()
    verifier.trust(trusted, StaticKeys(ring.published))
    assert await verifier.verify(token(old)) == ALICE  # issued before the switch
    assert await verifier.verify(token(new)) == ALICE
    # Step 3: the old key is no longer published, and its tokens no longer verify.
    verifier.trust(trusted, StaticKeys(KeyRing.load(new.pem()).published))
    with pytest.raises(InvalidToken, match="unknown key id"):
        await verifier.verify(token(old))


def test_a_published_key_may_be_given_as_its_public_half() -> None:
    old = SigningKey.generate()
    pem = old.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ring = KeyRing.load(SigningKey.generate().pem(), [pem, old.pem()])  # the same key twice
    assert [jwk["kid"] for jwk in ring.published][1:] == [old.kid]


def test_symmetric_and_encryption_keys_in_a_jwks_are_never_used() -> None:
    ours = SigningKey.generate().public_jwk()
    jwks = [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "shared-secret"},
        {**ours, "use": "enc", "kid": "for-encryption"},
        {"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA", "kid": "odd-curve"},
        "not a key",
        ours,
    ]
    assert list(usable_keys(jwks)) == [ours["kid"]]
    with pytest.raises(KeyProblem):
        StaticKeys(jwks[:3])


# ------------------------------------------------------------------------------ JWKS cache


class Issuer:
    """A JWKS endpoint stand-in for the cache's logic (the integration test uses a real
    one over HTTP): counts fetches, can fail, can rotate."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    async def fetch(self, url: str) -> Any:
        assert url == JWKS_URL
        self.fetches += 1
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("issuer unreachable")
        return {"keys": [key.public_jwk() for key in self.keys]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached(issuer: Issuer, clock: Clock, **timing: float) -> TokenVerifier:
    settings = {"fresh_for": 300.0, "stale_for": 600.0, "refresh_interval": 30.0, **timing}
    cache = JwksCache(JWKS_URL, issuer.fetch, clock=clock, **settings)
    verifier = TokenVerifier()
    verifier.trust(TrustedIssuer(issuer=ISSUER, hubs=["north"], jwks_url=JWKS_URL), cache)
    return verifier


async def test_the_jwks_is_fetched_once_and_cached() -> None:
    key, clock = SigningKey.generate(), Clock()
    issuer = Issuer(key)
    verifier = cached(issuer, clock)
    results = await asyncio.gather(*(verifier.verify(token(key)) for _ in range(20)))
    assert results == [ALICE] * 20
    clock.now += 299
    assert await verifier.verify(token(key)) == ALICE
    assert issuer.fetches == 1


async def test_an_unknown_kid_refreshes_the_jwks_so_a_rotation_is_seen_at_once() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    clock, issuer = Clock(), Issuer(old)
    verifier = cached(issuer, clock)
    assert await verifier.verify(token(old)) == ALICE
    issuer.keys = [new, old]  # the registry rotated
    clock.now += 31
    assert await verifier.verify(token(new)) == ALICE
    assert await verifier.verify(token(old)) == ALICE
    assert issuer.fetches == 2


async def test_unknown_kids_refresh_at_most_once_per_interval() -> None:
    key, clock = SigningKey.generate(), Clock()
    issuer = Issuer(key)
    verifier = cached(issuer, clock)
    await verifier.verify(token(key))
    strangers = [SigningKey.generate() for _ in range(3)]
    for _ in range(10):  # a flood of made-up key ids
        for stranger in strangers:
            with pytest.raises(InvalidToken, match="unknown key id"):
                await verifier.verify(issue_token(ALICE, key=stranger, issuer=ISSUER))
    assert issuer.fetches == 1  # still inside the first refresh interval
    clock.now += 30
    with pytest.raises(InvalidToken):
        await verifier.verify(issue_token(ALICE, key=strangers[0], issuer=ISSUER))
    assert issuer.fetches == 2


async def test_expired_keys_are_refetched_and_used_stale_while_the_issuer_is_down() -> None:
    key, clock = SigningKey.generate(), Clock()
    issuer = Issuer(key)
    verifier = cached(issuer, clock)
    await verifier.verify(token(key))
    issuer.down = True
    clock.now += 301  # expired: refetch fails, the stale keys still serve
    assert await verifier.verify(token(key)) == ALICE
    assert issuer.fetches == 2
    clock.now += 600  # past the stale window: nothing to verify with
    with pytest.raises(KeysUnavailable):
        await verifier.verify(token(key))
    issuer.down = False
    clock.now += 30
    assert await verifier.verify(token(key)) == ALICE


async def test_an_issuer_that_never_answered_leaves_its_tokens_unverifiable() -> None:
    key, issuer = SigningKey.generate(), Issuer()
    issuer.down = True
    with pytest.raises(KeysUnavailable):
        await cached(issuer, Clock()).verify(token(key))


async def test_a_jwks_without_usable_keys_does_not_replace_the_cached_one() -> None:
    key, clock = SigningKey.generate(), Clock()
    issuer = Issuer(key)
    verifier = cached(issuer, clock)
    await verifier.verify(token(key))
    issuer.keys = []
    clock.now += 301
    assert await verifier.verify(token(key)) == ALICE
    assert issuer.fetches == 2


# ------------------------------------------------------------------------------ CLI


def test_keys_generate_writes_a_private_key_once(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "signing.pem"
    result = runner.invoke(keys_app, ["generate", "--out", str(out), "--algorithm", "ES256"])
    assert result.exit_code == 0, result.output
    key = SigningKey.from_pem(out.read_bytes())
    assert key.algorithm == "ES256"
    assert f"kid {key.kid} (ES256)" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = runner.invoke(keys_app, ["generate", "--out", str(out)])
    assert again.exit_code == 1 and "exists" in again.output
    assert SigningKey.from_pem(out.read_bytes()).kid == key.kid  # not overwritten


def test_keys_generate_prints_to_stdout_by_default() -> None:
    result = CliRunner().invoke(keys_app, ["generate"])
    assert result.exit_code == 0
    assert SigningKey.from_pem(result.stdout.encode()).algorithm == "EdDSA"


def test_keys_jwks_prints_the_configured_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signing, previous = SigningKey.generate(), SigningKey.generate()
    (tmp_path / "previous.pem").write_bytes(previous.pem())
    monkeypatch.setenv("TANDEM_REGISTRY_SIGNING_KEY", signing.pem().decode())
    monkeypatch.setenv("TANDEM_REGISTRY_PUBLISHED_KEY_FILES", f'["{tmp_path / "previous.pem"}"]')
    result = CliRunner().invoke(keys_app, ["jwks"])
    assert result.exit_code == 0, result.output
    assert f'"kid": "{signing.kid}"' in result.stdout
    assert f'"kid": "{previous.kid}"' in result.stdout
    assert '"d"' not in result.stdout
    monkeypatch.setenv("TANDEM_REGISTRY_PUBLISHED_KEY_FILES", f'["{tmp_path / "missing.pem"}"]')
    missing = CliRunner().invoke(keys_app, ["jwks"])
    assert missing.exit_code == 1 and "missing.pem" in missing.output
