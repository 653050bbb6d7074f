"""Asymmetric keys. A registry signs its tokens with its own private key (Ed25519, `EdDSA`,
or ECDSA P-256, `ES256`) and publishes the public halves as a JWKS; services verify with
those public keys only, so no service can mint a token it accepts.

A key's `kid` is its RFC 7638 thumbprint: derived from the public key itself, so the same
key always has the same id and nothing has to be configured or kept in step. Rotation
publishes two keys at once (see `KeyRing`)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# What a registry signs with.
SIGNING_ALGORITHMS = ("EdDSA", "ES256")
# What a service accepts from a trusted issuer: asymmetric algorithms only. HS* (a shared
# secret, or a public key misused as one) and `none` are never accepted.
ACCEPTED_ALGORITHMS = frozenset(
    {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
# RFC 7638: the members of each key type that identify it, in the order they are hashed.
_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
}


class KeyProblem(ValueError):
    """A key that cannot be used; the message says why."""


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    try:
        members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    except KeyError as error:
        raise KeyProblem(f"not an OKP, EC or RSA public key: missing {error}") from error
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def algorithm_of(public_key: PublicKey) -> str:
    """The JWS algorithm a public key verifies."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in _CURVE_ALGORITHMS:
            raise KeyProblem(f"unsupported elliptic curve {public_key.curve.name}")
        return _CURVE_ALGORITHMS[public_key.curve.name]
    return "RS256"


def public_jwk(public_key: PublicKey) -> dict[str, Any]:
    """The public JWK of a key, with its `kid` (thumbprint), `alg` and `use`."""
    jwk: dict[str, Any]
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    jwk = {name: value for name, value in jwk.items() if name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm_of(public_key), "use": "sig"}


def load_public_key(pem: bytes) -> PublicKey:
    """The public key in a PEM: a public key, or the public half of a private key."""
    try:
        if b"PRIVATE KEY" in pem:
            loaded: Any = serialization.load_pem_private_key(pem, password=None).public_key()
        else:
            loaded = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise KeyProblem(f"not a readable, unencrypted PEM key: {error}") from error
    if not isinstance(loaded, PublicKey):
        raise KeyProblem(f"unsupported key type {type(loaded).__name__}: use Ed25519, EC or RSA")
    algorithm_of(loaded)  # refuses curves no JWS algorithm uses
    return loaded


@dataclass(frozen=True)
class SigningKey:
    """A registry's private signing key."""

    private_key: PrivateKey
    algorithm: str
    kid: str

    @classmethod
    def generate(cls, algorithm: str = "EdDSA") -> SigningKey:
        if algorithm == "EdDSA":
            return cls._of(ed25519.Ed25519PrivateKey.generate())
        if algorithm == "ES256":
            return cls._of(ec.generate_private_key(ec.SECP256R1()))
        raise KeyProblem(
            f"a registry signs with {' or '.join(SIGNING_ALGORITHMS)}, not {algorithm}"
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        try:
            loaded = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as error:
            raise KeyProblem(f"not a readable, unencrypted PEM private key: {error}") from error
        if not isinstance(loaded, PrivateKey):
            raise KeyProblem(
                f"a registry signs with Ed25519 or EC P-256, not {type(loaded).__name__}"
            )
        return cls._of(loaded)

    @classmethod
    def _of(cls, private_key: PrivateKey) -> SigningKey:
        jwk = public_jwk(private_key.public_key())
        if jwk["alg"] not in SIGNING_ALGORITHMS:
            raise KeyProblem(f"a registry signs with Ed25519 or EC P-256, not {jwk['alg']}")
        return cls(private_key=private_key, algorithm=jwk["alg"], kid=jwk["kid"])

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key.public_key())


@dataclass(frozen=True)
class KeyRing:
    """The key a registry signs with and every key it publishes.

    Rotation without downtime, in three deployments: (1) publish the next key beside the
    signing one, so every verifier (and every registry replica) knows it before any token
    carries it; (2) sign with it, still publishing the old one so tokens already issued
    keep verifying; (3) once the longest token lifetime has passed, stop publishing the
    old one."""

    signing: SigningKey
    published: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, signing_pem: bytes, other_pems: Sequence[bytes] = ()) -> KeyRing:
        signing = SigningKey.from_pem(signing_pem)
        published = {signing.kid: signing.public_jwk()}
        for pem in other_pems:
            jwk = public_jwk(load_public_key(pem))
            published.setdefault(jwk["kid"], jwk)
        return cls(signing=signing, published=tuple(published.values()))

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": list(self.published)}


def dev_key_pem(path: Path) -> bytes:
    """The development signing key at `path`, generated on first use and kept (mode 0600).

    Safe when several processes start at once: each writes its own temporary file and
    hard-links it into place; the first link wins and everyone reads the winner."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(SigningKey.generate().pem())
        with contextlib.suppress(FileExistsError):  # another process was first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return path.read_bytes()
