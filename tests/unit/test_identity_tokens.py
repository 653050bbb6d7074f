"""Bearer tokens: issued with a registry's asymmetric key, verified against trusted issuers.
Every refusal the verifier owes (unknown issuer, bad signature, wrong audience, expired,
`alg=none`, HS256 with a public key, a hub or role the issuer may not grant) and the claim
mapping an identity provider plugs in with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem_shared.auth import InvalidToken, Principal, Role
from tandem_shared.identity.issuers import TrustedIssuer
from tandem_shared.identity.keys import SigningKey, public_jwk
from tandem_shared.identity.tokens import TokenVerifier, issue_token

pytestmark = pytest.mark.unit

NORTH = "https://registry.north.example"
NETWORK = "https://registry.network.example"
NORTH_KEY = SigningKey.generate("EdDSA")
NETWORK_KEY = SigningKey.generate("ES256")
ALICE = Principal(subject="alice@north.example", hub="north", role=Role.HUB_ADMIN)


def trusted(issuer: str, key: SigningKey, **fields: Any) -> TrustedIssuer:
    values = {"issuer": issuer, "hubs": ["north"], "jwks": {"keys": [key.public_jwk()]}}
    return TrustedIssuer(**{**values, **fields})


def verifier(*issuers: TrustedIssuer) -> TokenVerifier:
    async def no_fetch(url: str) -> Any:
        raise AssertionError(f"static keys need no fetch ({url})")

    chosen = issuers or (
        trusted(NORTH, NORTH_KEY),
        trusted(NETWORK, NETWORK_KEY, hubs=["*"], network=True),
    )
    return TokenVerifier.for_issuers(chosen, no_fetch)


def north_token(principal: Principal = ALICE, **options: Any) -> str:
    return issue_token(principal, **{"key": NORTH_KEY, "issuer": NORTH, **options})


def encode(claims: dict[str, Any], key: SigningKey = NORTH_KEY) -> str:
    """Any claims, signed as they are (PyJWT's encoder would refuse some bad ones)."""
    payload = json.dumps(claims, default=lambda moment: int(moment.timestamp())).encode()
    return jwt.PyJWS().encode(payload, key.private_key, key.algorithm, {"kid": key.kid})


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "alice@north.example",
        "hub": "north",
        "role": "hub_admin",
        "iss": NORTH,
        "aud": "tandem",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(secret: bytes, payload: dict[str, Any], kid: str) -> str:
    """An HS256 token keyed with `secret`, written by hand (PyJWT refuses PEM keys as HMAC
    secrets, an attacker does not)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(payload, default=lambda moment: int(moment.timestamp())).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


async def refused(token: str, chosen: TokenVerifier | None = None) -> str:
    with pytest.raises(InvalidToken) as raised:
        await (chosen or verifier()).verify(token)
    return str(raised.value)


# ------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize("role", [Role.STAFF, Role.HUB_ADMIN])
async def test_issue_then_verify_round_trip(role: Role) -> None:
    principal = Principal(subject="bob", hub="north", role=role)
    assert await verifier().verify(north_token(principal)) == principal


async def test_the_network_issuer_may_grant_network_admin_for_any_hub() -> None:
    root = Principal(subject="root", hub="south", role=Role.NETWORK_ADMIN)
    token = issue_token(root, key=NETWORK_KEY, issuer=NETWORK)
    assert await verifier().verify(token) == root


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_token_names_its_key_issuer_and_audience(algorithm: str) -> None:
    key = SigningKey.generate(algorithm)
    token = issue_token(ALICE, key=key, issuer=NORTH, ttl=timedelta(minutes=30))
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == (algorithm, key.kid)
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert {k: decoded[k] for k in ("sub", "hub", "role", "iss", "aud")} == {
        "sub": "alice@north.example",
        "hub": "north",
        "role": "hub_admin",
        "iss": NORTH,
        "aud": "tandem",
    }
    assert decoded["exp"] - decoded["iat"] == 30 * 60


async def test_a_token_just_expired_is_tolerated_for_clock_skew() -> None:
    assert await verifier().verify(north_token(ttl=timedelta(seconds=-5))) == ALICE


async def test_a_correctly_signed_handmade_token_verifies() -> None:
    """The positive control for the hand-made refusals below."""
    assert await verifier().verify(encode(claims())) == ALICE


# ------------------------------------------------------------------------------ refused


async def test_an_unknown_issuer_is_refused() -> None:
    stranger = SigningKey.generate()
    token = issue_token(ALICE, key=stranger, issuer="https://idp.elsewhere.example")
    assert "not trusted" in await refused(token)


async def test_a_token_signed_with_another_key_under_a_trusted_kid_is_refused() -> None:
    forger = SigningKey.generate("EdDSA")
    token = jwt.encode(
        claims(), forger.private_key, algorithm="EdDSA", headers={"kid": NORTH_KEY.kid}
    )
    assert "Signature verification failed" in await refused(token)


async def test_a_token_for_a_key_the_issuer_does_not_have_is_refused() -> None:
    forger = SigningKey.generate("EdDSA")
    assert "unknown key id" in await refused(encode(claims(), forger))


@pytest.mark.parametrize("audience", ["tandem-other", None])
async def test_a_wrong_or_missing_audience_is_refused(audience: str | None) -> None:
    await refused(encode(claims(aud=audience)))


async def test_an_expired_token_is_refused() -> None:
    assert "expired" in await refused(north_token(ttl=timedelta(minutes=-2)))


async def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none", headers={"kid": NORTH_KEY.kid})
    assert "'none' is not accepted" in await refused(unsigned)


def _public_pem(key: SigningKey) -> bytes:
    return key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "secret",
    [
        _public_pem(NORTH_KEY),
        json.dumps(NORTH_KEY.public_jwk()).encode(),
        base64.urlsafe_b64decode(NORTH_KEY.public_jwk()["x"] + "="),
    ],
    ids=["public PEM", "public JWK", "raw public key"],
)
async def test_hs256_keyed_with_the_public_key_is_refused(secret: bytes) -> None:
    """Algorithm confusion: an attacker knows the public key and uses it as an HMAC secret."""
    assert "'HS256' is not accepted" in await refused(hs256_with(secret, claims(), NORTH_KEY.kid))


async def test_a_token_whose_algorithm_is_not_its_keys_is_refused() -> None:
    """ES256 claimed for the Ed25519 key: the key decides the algorithm, not the header."""
    es256 = SigningKey.generate("ES256")
    token = jwt.encode(
        claims(), es256.private_key, algorithm="ES256", headers={"kid": NORTH_KEY.kid}
    )
    assert "its key is EdDSA" in await refused(token)


async def test_a_hub_its_issuer_does_not_speak_for_is_refused() -> None:
    south = Principal(subject="eve@north.example", hub="south", role=Role.STAFF)
    assert "does not speak for hub 'south'" in await refused(north_token(south))


async def test_network_admin_from_a_hub_issuer_is_refused() -> None:
    escalated = Principal(subject="alice@north.example", hub="north", role=Role.NETWORK_ADMIN)
    assert "not the network's" in await refused(north_token(escalated))


def _tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    data = {**json.loads(base64.urlsafe_b64decode(payload + "==")), **changes}
    return f"{header}.{_b64(json.dumps(data).encode())}.{signature}"


TAMPERED = {
    "escalated role": lambda token: _tamper(token, role="staff"),
    "other hub": lambda token: _tamper(token, hub="north2"),
    "signature dropped": lambda token: token.rsplit(".", 1)[0] + ".",
    "truncated": lambda token: token[:-5],
    "garbage": lambda token: "not-a-jwt",
    "empty": lambda token: "",
}


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
async def test_a_tampered_token_is_refused(tamper: Any) -> None:
    chosen = verifier(trusted(NORTH, NORTH_KEY, hubs=["north", "north2"]))
    await refused(tamper(north_token()), chosen)


@pytest.mark.parametrize(
    "payload",
    [
        claims(sub=None),
        claims(hub=None),
        claims(role=None),
        claims(iss=None),
        claims(exp=None),
        claims(role="root"),
        claims(hub=7),
        claims(iss=["https://registry.north.example"]),
    ],
    ids=[
        "no sub",
        "no hub",
        "no role",
        "no iss",
        "no exp",
        "unknown role",
        "hub not text",
        "iss list",
    ],
)
async def test_missing_or_bad_claims_are_refused(payload: dict[str, Any]) -> None:
    await refused(encode(payload))


# ------------------------------------------------------------------------------ identity providers

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEYCLOAK = "https://sso.north.example/realms/tandem"


def keycloak_token(**overrides: Any) -> str:
    """What Keycloak issues (RS256, roles in realm_access, audience a client id)."""
    payload = {
        **claims(iss=KEYCLOAK, aud=["tandem-api", "account"], hub=None, role=None),
        "preferred_username": "kasia@north.example",
        "tandem_hub": "north",
        "realm_access": {"roles": ["offline_access", "tandem-staff", "tandem-admin"]},
        **overrides,
    }
    kid = public_jwk(RSA_KEY.public_key())["kid"]
    return jwt.encode(payload, RSA_KEY, algorithm="RS256", headers={"kid": kid})


def keycloak(**fields: Any) -> TrustedIssuer:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    values = {
        "issuer": KEYCLOAK,
        "hubs": ["north"],
        "audience": "tandem-api",
        "public_keys": [pem.decode()],
        "subject_claim": "preferred_username",
        "hub_claim": "tandem_hub",
        "role_claim": "realm_access.roles",
        "roles": {
            "tandem-staff": "staff",
            "tandem-admin": "hub_admin",
            "tandem-root": "network_admin",
        },
    }
    return TrustedIssuer(**{**values, **fields})


async def test_an_identity_provider_maps_its_own_claims_and_role_names() -> None:
    principal = await verifier(keycloak()).verify(keycloak_token())
    assert principal == Principal(subject="kasia@north.example", hub="north", role=Role.HUB_ADMIN)


async def test_without_a_hub_claim_the_issuer_speaks_for_its_only_hub() -> None:
    token = keycloak_token(tandem_hub=None)
    principal = await verifier(keycloak(hub_claim=None)).verify(token)
    assert principal.hub == "north"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"realm_access": {"roles": ["offline_access"]}}, "grants no Tandem role"),
        ({"realm_access": {"roles": ["tandem-root"]}}, "not the network's"),
        ({"tandem_hub": "south"}, "does not speak for hub 'south'"),
        ({"realm_access": {"other": []}}, "no 'realm_access.roles' claim"),
        ({"aud": "account"}, "Audience doesn't match"),
    ],
)
async def test_an_identity_providers_token_is_refused_when(
    changes: dict[str, Any], reason: str
) -> None:
    assert reason in await refused(keycloak_token(**changes), verifier(keycloak()))
