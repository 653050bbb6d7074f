"""The registry's token keys: the key ring it signs with and publishes, loaded from its
settings, and how it trusts its own tokens (with its own public keys, never over HTTP)."""

from __future__ import annotations

from tandem_registry.settings import RegistrySettings
from tandem_shared.identity.issuers import ANY_HUB, TrustedIssuer
from tandem_shared.identity.keys import KeyProblem, KeyRing, dev_key_pem


def key_ring(settings: RegistrySettings) -> KeyRing:
    """The signing key and every published key; KeyProblem says which setting is wrong."""
    try:
        signing = _signing_pem(settings)
        others = [key.get_secret_value().encode() for key in settings.published_keys]
        others += [path.read_bytes() for path in settings.published_key_files]
        return KeyRing.load(signing, others)
    except (OSError, KeyProblem) as error:
        raise KeyProblem(f"the registry's token keys: {error}") from error


def _signing_pem(settings: RegistrySettings) -> bytes:
    if settings.signing_key is not None:
        return settings.signing_key.get_secret_value().encode()
    if settings.signing_key_file is not None:
        return settings.signing_key_file.read_bytes()
    # Development only (production settings refuse to start without a key).
    return dev_key_pem(settings.dev_key_dir / f"registry-{settings.hub}.pem")


def own_issuer(settings: RegistrySettings, ring: KeyRing) -> TrustedIssuer:
    """How this registry trusts its own tokens: as its TANDEM_TRUSTED_ISSUERS entry says
    (hubs, network flag), or, when it has none (a one-hub development stack), for any hub
    it holds accounts of and as the network's issuer."""
    return settings.listed_self() or TrustedIssuer(
        issuer=settings.issuer,
        hubs=[ANY_HUB],
        network=True,
        audience=settings.token_audience,
        jwks=ring.jwks(),
    )
