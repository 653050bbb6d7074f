"""The console's settings: where the four services are, and the key that signs sessions.

Prefixed `TANDEM_CONSOLE_`, except the deployment-wide `TANDEM_ENVIRONMENT`/log settings.
Built in the app factory's lifespan, never at import time."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tandem_shared.settings import weak_secret

DEV_SESSION_SECRET = "tandem-console-dev-session-secret-change-me"  # noqa: S105 - refused in prod


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TANDEM_CONSOLE_", extra="ignore", populate_by_name=True
    )

    # `prod` refuses the dev session secret and sets Secure cookies.
    environment: Literal["dev", "prod"] = Field(
        "dev", validation_alias=AliasChoices("TANDEM_ENVIRONMENT")
    )
    # The structlog level.
    log_level: str = Field("INFO", validation_alias=AliasChoices("TANDEM_LOG_LEVEL"))
    # JSON log lines on or off; unset means JSON in `prod`.
    log_json: bool | None = Field(None, validation_alias=AliasChoices("TANDEM_LOG_JSON"))

    # The registry's base URL (the console calls each service's public HTTP API).
    registry_url: str = "http://127.0.0.1:8001"
    # The matcher's base URL.
    matcher_url: str = "http://127.0.0.1:8002"
    # The events service's base URL.
    events_url: str = "http://127.0.0.1:8003"
    # The notifier's base URL.
    notifier_url: str = "http://127.0.0.1:8004"
    # Timeout of one call to a service.
    request_timeout_seconds: float = Field(30.0, gt=0, le=300)

    # Signs the session cookie (which holds the staff member's token).
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    # A session lives as long as the registry's token (8 hours by default).
    session_max_age_seconds: int = Field(8 * 3600, ge=60)
    # Times not tied to an event (alerts, imports) are shown in this zone.
    timezone: str = "Europe/Warsaw"
    # The language when neither the session nor Accept-Language names one.
    default_locale: Literal["en", "pl", "de", "sl"] = "en"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "prod"

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies in production (served over TLS); plain HTTP on 127.0.0.1 in dev."""
        return self.environment == "prod"

    @model_validator(mode="after")
    def _refuse_dev_secret_in_prod(self) -> ConsoleSettings:
        if self.environment == "prod" and weak_secret(self.session_secret, DEV_SESSION_SECRET):
            raise ValueError(
                "TANDEM_CONSOLE_SESSION_SECRET must be a random secret of 32+ characters "
                "in production"
            )
        return self
