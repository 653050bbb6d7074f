from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from tandem_registry.passwords import PasswordCost
from tandem_shared.identity.issuers import DEFAULT_AUDIENCE, TrustedIssuer
from tandem_shared.settings import ServiceSettings

DEV_ISSUER = "http://127.0.0.1:8001"


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_REGISTRY_", extra="ignore")

    service_name: str = "registry"
    database_url: str = "sqlite+aiosqlite:///.tandem/registry.db"
    # Lifetime of the tokens it issues.
    token_ttl_minutes: int = 480
    # The `iss` of the tokens this registry issues: its public base URL by convention
    # (services trusting it fetch <issuer>/.well-known/jwks.json).
    issuer: str = Field(DEV_ISSUER, min_length=1)
    # The `aud` of the tokens it issues; trusting services expect their issuer's audience.
    token_audience: str = Field(DEFAULT_AUDIENCE, min_length=1)
    # The key tokens are signed with (Ed25519 or EC P-256, PEM): in the environment or in
    # a file (`tandem-registry keys generate`). Without either, development generates one
    # per hub under `dev_key_dir` and keeps it; production refuses to start.
    signing_key: SecretStr | None = None
    # The signing key as a PEM file instead of the variable (set one of the two).
    signing_key_file: Path | None = None
    # Where development keeps the key it generates (`registry-<hub>.pem`).
    dev_key_dir: Path = Path(".tandem/keys")
    # Keys published in the JWKS besides the signing key: the previous one after a
    # rotation, or the next one before it (PEM, public or private: only the public half
    # is published). See docs/identity.md.
    published_keys: list[SecretStr] = Field(default_factory=list)
    # Those further keys as PEM files.
    published_key_files: list[Path] = Field(default_factory=list)
    # The dev stack creates hub `TANDEM_HUB` with admin@<hub>.local; never in production.
    dev_admin_password: SecretStr = SecretStr("tandem-dev")
    # Argon2id at RFC 9106's cost (`standard`), or `minimal` for test suites and demo
    # stacks that create many accounts; production refuses `minimal`.
    password_cost: PasswordCost = "standard"  # noqa: S105 - a cost, not a password
    # In `dev` only: create hub TANDEM_HUB and admin@<hub>.local at start.
    seed_dev_admin: bool = True

    def listed_self(self) -> TrustedIssuer | None:
        """This registry's own entry in TANDEM_TRUSTED_ISSUERS, if it has one."""
        return next((i for i in self.trusted_issuers if i.issuer == self.issuer), None)

    @model_validator(mode="after")
    def _usable_identity(self) -> RegistrySettings:
        if self.signing_key is not None and self.signing_key_file is not None:
            raise ValueError("set TANDEM_REGISTRY_SIGNING_KEY or _SIGNING_KEY_FILE, not both")
        listed = self.listed_self()
        if listed is not None and listed.audience != self.token_audience:
            raise ValueError(
                f"TANDEM_TRUSTED_ISSUERS expects audience {listed.audience!r} from this "
                f"registry, which issues {self.token_audience!r}"
            )
        if self.environment == "prod":
            _refuse_dev_identity(self)
        return self


def _refuse_dev_identity(settings: RegistrySettings) -> None:
    if settings.signing_key is None and settings.signing_key_file is None:
        raise ValueError(
            "TANDEM_REGISTRY_SIGNING_KEY or TANDEM_REGISTRY_SIGNING_KEY_FILE must be set in "
            "production (create a key with `tandem-registry keys generate`)"
        )
    if settings.issuer == DEV_ISSUER or "change-me" in settings.issuer.lower():
        raise ValueError(
            "TANDEM_REGISTRY_ISSUER must be set to this registry's public URL in production"
        )
    if settings.listed_self() is None:
        raise ValueError(
            f"TANDEM_TRUSTED_ISSUERS must list this registry's own issuer {settings.issuer} "
            "in production, with its hubs and whether it is the network's issuer"
        )
    if settings.password_cost != "standard":  # noqa: S105 - a cost, not a password
        raise ValueError("TANDEM_REGISTRY_PASSWORD_COST must be `standard` in production")
