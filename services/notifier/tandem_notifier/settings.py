from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings, refuse_weak_secret

DEV_UNSUBSCRIBE_SECRET = "tandem-dev-unsubscribe-change-me-0123456789"  # noqa: S105 - dev default, refused in prod
DEV_PUBLIC_URL = "http://127.0.0.1:8004"


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    database_url: str = "sqlite+aiosqlite:///.tandem/notifier.db"
    # Live stream: a commit in this process wakes streams at once; the poll catches rows
    # written by another replica. A stream ends after `stream_max_seconds` (the client
    # reconnects with Last-Event-ID), so a shutdown never waits on an idle stream for long.
    stream_poll_seconds: float = Field(2.0, gt=0)
    # How long one SSE stream lasts before the client reconnects.
    stream_max_seconds: float = Field(300.0, gt=0)
    # How far behind its newest sent row a stream re-reads, for rows committed late.
    stream_grace_seconds: float = Field(5.0, ge=0)
    # Rows a stream reads at once.
    stream_batch: int = Field(100, ge=1, le=1000)

    # Match alerts in a hub's feed (`domain.alerts`): only at or above this score, and at
    # most `alert_daily_cap` a day about any one organisation (best first), so a bulk
    # import does not bury the feed. The matches themselves are all kept and listed.
    alert_min_score: float = Field(0.0, ge=0, le=1)
    # The most alerts a day about any one organisation in a hub's feed (best scores first).
    alert_daily_cap: int = Field(3, ge=1, le=1000)

    # Email over SMTP. Without `smtp_host` email deliveries fail with a clear last_error.
    smtp_host: str | None = None
    # The SMTP server's port.
    smtp_port: int = Field(25, ge=1, le=65535)
    # `starttls` upgrades a plain connection, `tls` connects over TLS (usually port 465).
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    # SMTP login, if the server asks for one.
    smtp_user: str | None = None
    # Its password.
    smtp_password: SecretStr | None = None
    # The sender of every email.
    smtp_from: str = "Tandem <notifications@tandem.local>"
    # Timeout of one SMTP exchange.
    smtp_timeout_seconds: float = Field(15.0, gt=0)

    # Where recipients reach this service: the base of the unsubscribe links in emails.
    public_url: str = Field(DEV_PUBLIC_URL, min_length=8, max_length=500)
    # Signs one-click unsubscribe links. They never expire; rotating this secret revokes
    # every link already sent (the links in older emails then answer 400).
    unsubscribe_secret: SecretStr = SecretStr(DEV_UNSUBSCRIBE_SECRET)

    # Webhooks. Private, loopback, link-local and multicast targets are refused unless
    # allowed (tests use loopback); plain http is refused unless allowed.
    webhook_allow_private: bool = False
    # Allow plain-http webhook targets (tests only).
    webhook_allow_http: bool = False
    # Timeout of one webhook POST.
    webhook_timeout_seconds: float = Field(10.0, gt=0)

    # The delivery worker: claims due rows, sends, records; failed sends are retried with
    # exponential backoff (base·2^(n-1), capped) and marked failed after `max_attempts`.
    delivery_poll_seconds: float = Field(1.0, gt=0)
    # Due deliveries the worker claims at once.
    delivery_batch: int = Field(50, ge=1, le=1000)
    # How long a claim lasts: rows claimed by a worker that died are due again after it.
    delivery_lease_seconds: float = Field(60.0, gt=0)
    # Tries before a delivery is `failed`.
    delivery_max_attempts: int = Field(6, ge=1, le=50)
    # The first retry delay, doubled per try.
    delivery_backoff_seconds: float = Field(30.0, ge=0)
    # Its cap.
    delivery_backoff_max_seconds: float = Field(3600.0, ge=0)

    # The daily digest goes out from this local hour (the recipient's zone); the periodic
    # task looks for due digests every `digest_every_seconds`.
    digest_hour: int = Field(8, ge=0, le=23)
    # How often that task looks.
    digest_every_seconds: float = Field(300.0, gt=0)

    @field_validator("public_url")
    @classmethod
    def _http_base(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("public_url must be an http(s) URL, e.g. https://notify.example.org")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _refuse_dev_values_in_prod(self) -> NotifierSettings:
        if self.environment != "prod":
            return self
        refuse_weak_secret(
            self.unsubscribe_secret, DEV_UNSUBSCRIBE_SECRET, "TANDEM_NOTIFIER_UNSUBSCRIBE_SECRET"
        )
        if self.public_url == DEV_PUBLIC_URL or "change-me" in self.public_url.lower():
            raise ValueError(
                "TANDEM_NOTIFIER_PUBLIC_URL must be set in production: it is the base of the "
                "unsubscribe links in emails"
            )
        return self
