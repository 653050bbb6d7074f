"""JWT issue/verify, the hub scoping of principals, and the shared service settings."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from tandem_shared.auth import ALGORITHM, InvalidToken, Principal, Role, issue_token, verify_token
from tandem_shared.settings import DEV_JWT_SECRET, ServiceSettings

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopq"
ISSUER = "tandem-registry"
ALICE = Principal(subject="alice@demo.local", hub="demo", role=Role.HUB_ADMIN)


def verify(token: str, *, secret: str = SECRET, issuer: str = ISSUER) -> Principal:
    return verify_token(token, secret=secret, issuer=issuer)


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "alice@demo.local",
        "hub": "demo",
        "role": "hub_admin",
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def encode(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


# ------------------------------------------------------------------------------ tokens


@pytest.mark.parametrize("role", list(Role))
def test_issue_then_verify_round_trip(role: Role) -> None:
    principal = Principal(subject="bob", hub="north", role=role)
    assert verify(issue_token(principal, secret=SECRET, issuer=ISSUER)) == principal


def test_token_carries_the_expected_claims() -> None:
    token = issue_token(ALICE, secret=SECRET, issuer=ISSUER, ttl=timedelta(minutes=30))
    decoded = jwt.decode(token, SECRET, algorithms=[ALGORITHM], issuer=ISSUER)
    assert {k: decoded[k] for k in ("sub", "hub", "role", "iss")} == {
        "sub": "alice@demo.local",
        "hub": "demo",
        "role": "hub_admin",
        "iss": ISSUER,
    }
    assert decoded["exp"] - decoded["iat"] == 30 * 60
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


@pytest.mark.parametrize(
    "issued",
    [
        {"ttl": timedelta(minutes=-2)},  # expired beyond the 30 s clock-skew leeway
        {"secret": OTHER_SECRET},
        {"issuer": "someone-else"},
    ],
    ids=["expired", "wrong secret", "wrong issuer"],
)
def test_token_not_meant_for_us_is_rejected(issued: dict[str, Any]) -> None:
    token = issue_token(ALICE, **{"secret": SECRET, "issuer": ISSUER, **issued})
    with pytest.raises(InvalidToken):
        verify(token)


def test_token_just_expired_is_tolerated_for_clock_skew() -> None:
    token = issue_token(ALICE, secret=SECRET, issuer=ISSUER, ttl=timedelta(seconds=-5))
    assert verify(token) == ALICE


def _tamper_payload(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    data = {**json.loads(base64.urlsafe_b64decode(padded)), **changes}
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    return jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), None, algorithm="none"
    )


TAMPERED = {
    "escalated role": lambda token: _tamper_payload(token, role="network_admin"),
    "other hub": lambda token: _tamper_payload(token, hub="north"),
    "signature dropped": lambda token: token.rsplit(".", 1)[0] + ".",
    "alg none": _unsigned,
    "truncated": lambda token: token[:-5],
    "garbage": lambda token: "not-a-jwt",
    "empty": lambda token: "",
}


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_tampered_token_is_rejected(tamper: Any) -> None:
    token = issue_token(ALICE, secret=SECRET, issuer=ISSUER)
    with pytest.raises(InvalidToken):
        verify(tamper(token))


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
    ],
    ids=["no sub", "no hub", "no role", "no iss", "no exp", "unknown role", "hub not a string"],
)
def test_missing_or_bad_claims_are_rejected(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        verify(encode(payload))


def test_a_correctly_signed_handmade_token_verifies() -> None:
    """The positive control for the claims tests above."""
    assert verify(encode(claims())) == ALICE


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
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
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
        ("TANDEM_JWT_ISSUER", "north-registry", "jwt_issuer", "north-registry"),
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


@pytest.mark.parametrize(
    "secret",
    [None, DEV_JWT_SECRET, "x" * 31, "CHANGE-ME", "CHANGE-ME-" + "x" * 40],
    ids=["default", "dev-secret", "31-chars", "template", "template-padded"],
)
def test_prod_refuses_the_dev_or_a_weak_secret(env: pytest.MonkeyPatch, secret: str | None) -> None:
    env.setenv("TANDEM_ENVIRONMENT", "prod")
    if secret is not None:
        env.setenv("TANDEM_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="TANDEM_JWT_SECRET"):
        _TestSettings()


@pytest.mark.parametrize("secret", ["k" * 32, "r4nd0m-" + "q" * 33])
def test_prod_accepts_a_long_random_secret(env: pytest.MonkeyPatch, secret: str) -> None:
    env.setenv("TANDEM_ENVIRONMENT", "prod")
    env.setenv("TANDEM_JWT_SECRET", secret)
    settings = _TestSettings()
    assert settings.environment == "prod"
    assert settings.jwt_secret.get_secret_value() == secret
    assert settings.json_logs is True
    assert secret not in repr(settings)


@pytest.mark.parametrize("secret", ["short", DEV_JWT_SECRET])
def test_dev_accepts_any_secret(env: pytest.MonkeyPatch, secret: str) -> None:
    env.setenv("TANDEM_JWT_SECRET", secret)
    assert _TestSettings().jwt_secret.get_secret_value() == secret


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
