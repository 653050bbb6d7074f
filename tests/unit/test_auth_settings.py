"""The hub scoping of principals, and the settings: the shared ones, trusted issuers, the
registry's signing keys and the link secrets. (Token issuing and verification:
test_identity_tokens.py and test_identity_keys.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from tandem_events.settings import DEV_CALENDAR_LINK_SECRET, EventsSettings
from tandem_registry.settings import DEV_ISSUER, RegistrySettings
from tandem_shared.auth import Principal, Role
from tandem_shared.identity.keys import SigningKey
from tandem_shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

NORTH = "https://registry.north.example"
NORTH_JWKS = f"{NORTH}/.well-known/jwks.json"
SOUTH = "https://registry.south.example"


def issuers(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries))


# ------------------------------------------------------------------------------ principals


@pytest.mark.parametrize(
    ("role", "read_other", "write_other"),
    [(Role.STAFF, False, False), (Role.HUB_ADMIN, False, False), (Role.NETWORK_ADMIN, True, False)],
)
def test_hub_scoping_by_role(role: Role, read_other: bool, write_other: bool) -> None:
    principal = Principal(subject="x", hub="demo", role=role)
    assert principal.may_read_hub("demo")
    assert principal.may_write_hub("demo")
    assert principal.may_read_hub("north") is read_other
    assert principal.may_write_hub("north") is write_other


# ------------------------------------------------------------------------------ settings


class _TestSettings(ServiceSettings):
    """A service's subclass with its own prefix, as every service defines."""

    model_config = SettingsConfigDict(env_prefix="TANDEM_UNITTEST_", extra="ignore")

    service_name: str = "unittest"
    database_url: str = "sqlite+aiosqlite:///:memory:"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment: no TANDEM_* variable leaks in from the shell running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("TANDEM_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_are_the_dev_defaults(env: pytest.MonkeyPatch) -> None:
    settings = _TestSettings()
    assert settings.environment == "dev"
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.trusted_issuers == []
    assert settings.kafka_topic_prefix == ""
    assert settings.json_logs is False


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("TANDEM_KAFKA_BOOTSTRAP", "k1:9092,k2:9092", "kafka_bootstrap", "k1:9092,k2:9092"),
        ("TANDEM_HUB", "north", "hub", "north"),
        ("TANDEM_KAFKA_IDEMPOTENCE", "false", "kafka_idempotence", False),
        ("TANDEM_KAFKA_PARTITIONS", "6", "kafka_partitions", 6),
        ("TANDEM_KAFKA_REPLICATION", "3", "kafka_replication", 3),
        ("TANDEM_KAFKA_TOPIC_PREFIX", "run42.", "kafka_topic_prefix", "run42."),
        ("TANDEM_LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
        ("TANDEM_LOG_JSON", "true", "log_json", True),
        ("TANDEM_UNITTEST_DATABASE_URL", "postgresql://db/t", "database_url", "postgresql://db/t"),
        ("TANDEM_UNITTEST_CONSUMER_MAX_ATTEMPTS", "9", "consumer_max_attempts", 9),
    ],
)
def test_environment_variables_are_read(
    env: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    env.setenv(variable, value)
    assert getattr(_TestSettings(), field) == expected


def test_service_prefix_does_not_shadow_the_common_names(env: pytest.MonkeyPatch) -> None:
    env.setenv("TANDEM_UNITTEST_KAFKA_BOOTSTRAP", "ignored:1")
    env.setenv("TANDEM_KAFKA_BOOTSTRAP", "used:1")
    assert _TestSettings().kafka_bootstrap == "used:1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TANDEM_ENVIRONMENT", "staging"),
        ("TANDEM_KAFKA_PARTITIONS", "0"),
        ("TANDEM_KAFKA_IDEMPOTENCE", "perhaps"),
    ],
)
def test_invalid_values_are_refused(env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    env.setenv(variable, value)
    with pytest.raises(ValidationError):
        _TestSettings()


# ------------------------------------------------------------------------------ trusted issuers


def test_trusted_issuers_are_read_as_a_json_list(env: pytest.MonkeyPatch) -> None:
    """North trusts its own registry (fetched JWKS) and south's for hub south only, in one
    setting; the claim names default to sub/hub/role."""
    south_key = SigningKey.generate().public_jwk()
    env.setenv(
        "TANDEM_TRUSTED_ISSUERS",
        issuers(
            {"issuer": NORTH, "jwks_url": NORTH_JWKS, "hubs": ["north"], "network": True},
            {"issuer": SOUTH, "jwks": {"keys": [south_key]}, "hubs": ["south"]},
        ),
    )
    north, south = _TestSettings().trusted_issuers
    assert (north.issuer, north.jwks_url, north.hubs, north.network) == (
        NORTH,
        NORTH_JWKS,
        ["north"],
        True,
    )
    assert (south.hubs, south.network, south.static_jwks()) == (["south"], False, [south_key])
    assert (south.subject_claim, south.hub_claim, south.role_claim) == ("sub", "hub", "role")
    assert (south.audience, south.cache_seconds) == ("tandem", 300)


_VALID = {"issuer": NORTH, "jwks_url": NORTH_JWKS, "hubs": ["north"]}


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([{**_VALID, "jwks_url": None}], "exactly one of jwks_url, jwks, public_keys"),
        ([{**_VALID, "jwks": {"keys": []}}], "exactly one of jwks_url, jwks, public_keys"),
        ([{**_VALID, "jwks_url": "file:///etc/keys"}], "http"),
        ([{**_VALID, "hubs": []}], "at least 1"),
        ([{**_VALID, "hubs": ["north", "south"], "hub_claim": None}], "exactly one hub"),
        ([{**_VALID, "jwks_url": None, "public_keys": ["not a key"]}], "PEM"),
        ([{**_VALID, "jwks_url": None, "jwks": {"keys": [{"kty": "oct", "k": "c2Vj"}]}}], "usable"),
        ([{**_VALID, "roles": {"admin": "root"}}], "roles"),
        ([{**_VALID, "secret": "x"}], "secret"),
        ([_VALID, {**_VALID, "hubs": ["south"]}], "more than once"),
    ],
    ids=[
        "no keys",
        "two key sources",
        "not http",
        "no hubs",
        "no hub claim, two hubs",
        "bad PEM",
        "only a symmetric key",
        "unknown role",
        "unknown field",
        "issuer twice",
    ],
)
def test_incoherent_trusted_issuers_are_refused(
    env: pytest.MonkeyPatch, entries: list[dict[str, Any]], reason: str
) -> None:
    env.setenv("TANDEM_TRUSTED_ISSUERS", issuers(*entries))
    with pytest.raises(ValidationError, match=reason):
        _TestSettings()


def test_prod_refuses_to_start_trusting_no_issuer(env: pytest.MonkeyPatch) -> None:
    env.setenv("TANDEM_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="TANDEM_TRUSTED_ISSUERS must list"):
        _TestSettings()
    env.setenv("TANDEM_TRUSTED_ISSUERS", issuers(_VALID))
    assert _TestSettings().json_logs is True


# ------------------------------------------------------------------------------ registry keys


def _prod_registry(env: pytest.MonkeyPatch, **variables: str) -> RegistrySettings:
    env.setenv("TANDEM_ENVIRONMENT", "prod")
    defaults = {
        "TANDEM_REGISTRY_SIGNING_KEY": SigningKey.generate().pem().decode(),
        "TANDEM_REGISTRY_ISSUER": NORTH,
        "TANDEM_TRUSTED_ISSUERS": issuers({**_VALID, "network": True}),
    }
    for name, value in {**defaults, **variables}.items():
        if value:
            env.setenv(name, value)
    return RegistrySettings()


def test_prod_registry_with_a_key_and_its_issuer_listed_starts(env: pytest.MonkeyPatch) -> None:
    settings = _prod_registry(env)
    assert settings.signing_key is not None
    assert "PRIVATE KEY" not in repr(settings)
    assert settings.listed_self() == settings.trusted_issuers[0]


def test_prod_registry_accepts_a_key_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    key.write_bytes(SigningKey.generate().pem())
    settings = _prod_registry(
        env, TANDEM_REGISTRY_SIGNING_KEY="", TANDEM_REGISTRY_SIGNING_KEY_FILE=str(key)
    )
    assert settings.signing_key_file == key


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"TANDEM_REGISTRY_SIGNING_KEY": ""}, "TANDEM_REGISTRY_SIGNING_KEY or"),
        ({"TANDEM_REGISTRY_SIGNING_KEY_FILE": "/run/secrets/key.pem"}, "not both"),
        (
            {
                "TANDEM_REGISTRY_ISSUER": DEV_ISSUER,
                "TANDEM_TRUSTED_ISSUERS": issuers({**_VALID, "issuer": DEV_ISSUER}),
            },
            "TANDEM_REGISTRY_ISSUER must be set",
        ),
        (
            {
                "TANDEM_REGISTRY_ISSUER": "https://registry.CHANGE-ME.example.org",
                "TANDEM_TRUSTED_ISSUERS": issuers(
                    {**_VALID, "issuer": "https://registry.CHANGE-ME.example.org"}
                ),
            },
            "TANDEM_REGISTRY_ISSUER must be set",
        ),
        ({"TANDEM_REGISTRY_ISSUER": SOUTH}, "must list this registry's own issuer"),
        ({"TANDEM_REGISTRY_TOKEN_AUDIENCE": "other"}, "expects audience 'tandem'"),
        ({"TANDEM_REGISTRY_PASSWORD_COST": "minimal"}, "PASSWORD_COST must be `standard`"),
    ],
    ids=[
        "no key",
        "two keys",
        "dev issuer",
        "template issuer",
        "own issuer unlisted",
        "audience mismatch",
        "test password cost",
    ],
)
def test_prod_registry_refuses_a_missing_key_or_a_dev_identity(
    env: pytest.MonkeyPatch, variables: dict[str, str], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        _prod_registry(env, **variables)


def test_dev_registry_needs_no_key_setting(env: pytest.MonkeyPatch) -> None:
    settings = RegistrySettings()
    assert (settings.issuer, settings.signing_key, settings.listed_self()) == (
        DEV_ISSUER,
        None,
        None,
    )


# ------------------------------------------------------------------------------ link secrets


@pytest.mark.parametrize(
    "secret",
    [None, DEV_CALENDAR_LINK_SECRET, "x" * 31, "CHANGE-ME", "CHANGE-ME-" + "x" * 40],
    ids=["default", "dev-secret", "31-chars", "template", "template-padded"],
)
def test_prod_events_refuses_a_weak_calendar_link_secret(
    env: pytest.MonkeyPatch, secret: str | None
) -> None:
    env.setenv("TANDEM_ENVIRONMENT", "prod")
    env.setenv("TANDEM_TRUSTED_ISSUERS", issuers(_VALID))
    if secret is not None:
        env.setenv("TANDEM_EVENTS_CALENDAR_LINK_SECRET", secret)
    with pytest.raises(ValidationError, match="TANDEM_EVENTS_CALENDAR_LINK_SECRET"):
        EventsSettings()
    env.setenv("TANDEM_EVENTS_CALENDAR_LINK_SECRET", "r4nd0m-" + "q" * 33)
    assert "q" * 33 not in repr(EventsSettings())


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("", "tandem.profiles.v1"), ("run42.", "run42.tandem.profiles.v1")],
)
def test_topic_prefix(env: pytest.MonkeyPatch, prefix: str, expected: str) -> None:
    env.setenv("TANDEM_KAFKA_TOPIC_PREFIX", prefix)
    assert _TestSettings().topic("tandem.profiles.v1") == expected


def test_settings_can_be_built_by_field_name(env: pytest.MonkeyPatch) -> None:
    settings = _TestSettings(kafka_bootstrap="direct:1", kafka_topic_prefix="p.")
    assert settings.kafka_bootstrap == "direct:1"
    assert settings.topic("t") == "p.t"
