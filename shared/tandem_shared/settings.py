"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own
env prefix (`TANDEM_REGISTRY_`, ...) for its own fields; the fields here are common to the
whole deployment and read from `TANDEM_*`. Settings objects are built in the lifespan,
never at import time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tandem_shared.contracts import check_hub_id
from tandem_shared.identity.issuers import TrustedIssuer


def _common(name: str) -> AliasChoices:
    return AliasChoices(f"TANDEM_{name.upper()}")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # The service's own name; each service sets its own and nothing reads it at present.
    service_name: str = "tandem"
    # `prod` refuses development defaults (empty trusted issuers, dev keys, secrets and
    # public URLs) and switches logs to JSON; `dev` is for one machine.
    environment: Literal["dev", "prod"] = Field("dev", validation_alias=_common("environment"))
    # The structlog level: DEBUG, INFO, WARNING, ERROR.
    log_level: str = Field("INFO", validation_alias=_common("log_level"))
    # JSON log lines on or off; unset means JSON in `prod` and console lines in `dev`.
    log_json: bool | None = Field(None, validation_alias=_common("log_json"))
    # This deployment's hub id (not `network`): the topics it writes and reads
    # (`tandem.<hub>.*`, docs/federation.md), its consumer groups, its messages' CloudEvents
    # `source`, and the hub of the dev admin and dev signing key.
    hub: str = Field("demo", validation_alias=_common("hub"))
    # Further hubs this one deployment runs besides `hub` (a JSON list): its services then
    # write and read those hubs' local topics too. Empty in a federated deployment, where
    # every hub runs its own stack (docs/federation.md).
    hosted_hubs: list[str] = Field(default_factory=list, validation_alias=_common("hosted_hubs"))

    # The Kafka bootstrap servers (host:port, comma-separated).
    kafka_bootstrap: str = Field("127.0.0.1:9092", validation_alias=_common("kafka_bootstrap"))
    # The embedded broker (Tansu) rejects InitProducerId, so the dev stack and the tests
    # switch this off; on Apache Kafka it stays on.
    kafka_idempotence: bool = Field(True, validation_alias=_common("kafka_idempotence"))
    # Partitions of the topics a service creates when they are missing (replicas of a
    # service share its consumer group up to this count).
    kafka_partitions: int = Field(3, ge=1, validation_alias=_common("kafka_partitions"))
    # Replication factor of the topics a service creates when they are missing.
    kafka_replication: int = Field(1, ge=1, validation_alias=_common("kafka_replication"))
    # How long the broker waits for a silent consumer before it rebalances its partitions
    # away. A new group's first join also waits about half of it (the broker gathers the
    # members), so the tests shorten it; heartbeats go three times per timeout.
    kafka_session_timeout_ms: int = Field(
        10_000, ge=1_500, le=300_000, validation_alias=_common("kafka_session_timeout_ms")
    )
    # Put before every topic and consumer group name (isolates test runs on one broker).
    kafka_topic_prefix: str = Field("", validation_alias=_common("kafka_topic_prefix"))
    # The producer's request limit (aiokafka's max_request_size), which also bounds the
    # size of a dead-letter copy; keep it within the broker's message.max.bytes.
    kafka_max_request_bytes: int = Field(
        1_048_576, ge=65_536, validation_alias=_common("kafka_max_request_bytes")
    )

    # How the clients reach the broker: PLAINTEXT inside one hub's own cluster; SASL_SSL
    # (or SSL with a client certificate) on a network cluster whose ACLs name each hub's
    # principal (docs/federation.md, topology A).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_common("kafka_security_protocol")
    )
    # The SASL mechanism of this hub's principal (with SASL_SSL or SASL_PLAINTEXT).
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", validation_alias=_common("kafka_sasl_mechanism")
    )
    # This hub's principal on the broker, e.g. `hub-north`.
    kafka_sasl_username: str | None = Field(None, validation_alias=_common("kafka_sasl_username"))
    # That principal's password (a secret: from the environment or a mounted Secret).
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias=_common("kafka_sasl_password")
    )
    # TLS (SSL, SASL_SSL): the CA bundle that signed the brokers' certificates (the
    # system's CAs if unset).
    kafka_ssl_cafile: Path | None = Field(None, validation_alias=_common("kafka_ssl_cafile"))
    # The client certificate (PEM) whose subject is this hub's principal, for mTLS.
    kafka_ssl_certfile: Path | None = Field(None, validation_alias=_common("kafka_ssl_certfile"))
    # The private key (PEM) of that client certificate.
    kafka_ssl_keyfile: Path | None = Field(None, validation_alias=_common("kafka_ssl_keyfile"))

    # Whose bearer tokens this service accepts, and for which hubs (a JSON list; see
    # tandem_shared.identity.issuers.TrustedIssuer and docs/identity.md).
    trusted_issuers: list[TrustedIssuer] = Field(
        default_factory=list, validation_alias=_common("trusted_issuers")
    )

    # The service's own database (SQLAlchemy async URL), e.g.
    # postgresql+asyncpg://user@host/tandem_<service>.
    database_url: str = "sqlite+aiosqlite:///.tandem/tandem.db"
    # Run the service's Alembic migrations to head at start-up (serialised by an
    # advisory lock on PostgreSQL); off to run `tandem-<service> migrate` as its own step.
    auto_migrate: bool = True
    # A handler failure that is neither a refusal nor an outage is dead-lettered once it
    # happened this many times while the database and broker answered.
    consumer_max_attempts: int = Field(5, ge=1)
    # An outage-like failure (a timeout, a lost connection) that keeps happening while the
    # database and broker answer is dead-lettered after this many tries.
    consumer_max_transient_attempts: int = Field(20, ge=1)
    # The first delay before a failed message is retried, doubled per attempt.
    consumer_backoff_seconds: float = Field(0.2, ge=0)
    # The cap on that delay; a message held back by an outage is retried at most this far apart.
    consumer_max_backoff_seconds: float = Field(15.0, gt=0)
    # How often the outbox relay looks for unsent rows besides being woken
    # (LISTEN/NOTIFY on PostgreSQL).
    outbox_poll_seconds: float = Field(1.0, gt=0)
    # The largest request body any route accepts (413 above it).
    max_request_bytes: int = Field(
        1_048_576, ge=1024, validation_alias=_common("max_request_bytes")
    )

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "prod"

    @property
    def local_hubs(self) -> list[str]:
        """The hubs whose local topics this deployment writes and reads: `hub` first."""
        return list(dict.fromkeys([self.hub, *self.hosted_hubs]))

    def topic(self, name: str) -> str:
        """The physical topic name; a prefix isolates test runs on a shared broker."""
        return f"{self.kafka_topic_prefix}{name}"

    @field_validator("hub")
    @classmethod
    def _hub_names_topics(cls, hub: str) -> str:
        return check_hub_id(hub)

    @field_validator("hosted_hubs")
    @classmethod
    def _hosted_hubs_name_topics(cls, hubs: list[str]) -> list[str]:
        return [check_hub_id(hub) for hub in hubs]

    @model_validator(mode="after")
    def _coherent_kafka_security(self) -> ServiceSettings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"TANDEM_KAFKA_SECURITY_PROTOCOL={protocol} needs TANDEM_KAFKA_SASL_USERNAME "
                "and TANDEM_KAFKA_SASL_PASSWORD (this hub's principal)"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("set TANDEM_KAFKA_SSL_CERTFILE and TANDEM_KAFKA_SSL_KEYFILE together")
        tls_files = (self.kafka_ssl_cafile, self.kafka_ssl_certfile)
        if not protocol.endswith("SSL") and any(f is not None for f in tls_files):
            raise ValueError(
                f"TLS files are set, yet TANDEM_KAFKA_SECURITY_PROTOCOL={protocol} uses no TLS"
            )
        return self

    @model_validator(mode="after")
    def _coherent_issuers(self) -> ServiceSettings:
        twice = [
            name for name, n in Counter(i.issuer for i in self.trusted_issuers).items() if n > 1
        ]
        if twice:
            raise ValueError(f"TANDEM_TRUSTED_ISSUERS lists issuer {twice[0]} more than once")
        if self.environment == "prod" and not self.trusted_issuers:
            raise ValueError(
                "TANDEM_TRUSTED_ISSUERS must list the issuers whose tokens this service accepts "
                "(at least the hub's registry) in production"
            )
        return self


def weak_secret(secret: SecretStr, dev_default: str) -> bool:
    """A secret production must refuse: the dev default, under 32 characters, or a
    placeholder still saying CHANGE-ME (the deploy templates' value)."""
    value = secret.get_secret_value()
    return value == dev_default or len(value) < 32 or "change-me" in value.lower()


def refuse_weak_secret(secret: SecretStr, dev_default: str, variable: str) -> None:
    """For a production settings check: ValueError naming `variable` if the secret is weak."""
    if weak_secret(secret, dev_default):
        raise ValueError(
            f"{variable} must be set to a random secret of 32+ characters in production"
        )
