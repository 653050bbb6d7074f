"""How a service's Kafka clients authenticate: plain inside a hub's own cluster, SASL or
mutual TLS as the hub's principal on a network cluster (docs/federation.md, topology A)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from pydantic import ValidationError

from tandem_shared.bus.kafka import client_options
from tandem_shared.settings import ServiceSettings

pytestmark = pytest.mark.unit


def settings(**fields: Any) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap="kafka.network.example:9093", **fields)


def test_plaintext_carries_no_credentials() -> None:
    assert client_options(settings()) == {
        "bootstrap_servers": "kafka.network.example:9093",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_authenticates_as_the_hubs_principal_over_tls() -> None:
    options = client_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="hub-north",
            kafka_sasl_password="s3cret-of-north",
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == (
        "SCRAM-SHA-256",
        "hub-north",
    )
    assert options["sasl_plain_password"] == "s3cret-of-north"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_the_password_never_shows_in_the_settings_repr() -> None:
    configured = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="hub-north",
        kafka_sasl_password="s3cret-of-north",
    )
    assert "s3cret-of-north" not in repr(configured)
    assert "ssl_context" not in client_options(configured)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs TANDEM_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "hub-north"},
            "needs TANDEM_KAFKA_SASL_USERNAME",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_certfile": "/run/secrets/north.pem"},
            "CERTFILE and TANDEM_KAFKA_SSL_KEYFILE together",
        ),
        ({"kafka_ssl_cafile": "/run/secrets/ca.pem"}, "uses no TLS"),
        ({"kafka_security_protocol": "KERBEROS"}, "kafka_security_protocol"),
    ],
    ids=["no principal", "no password", "certificate without key", "tls files on plain", "other"],
)
def test_incomplete_security_settings_are_refused_at_start(
    fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        settings(**fields)
