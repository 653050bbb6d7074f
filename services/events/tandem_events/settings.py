from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings, refuse_weak_secret

DEV_CALENDAR_LINK_SECRET = "tandem-dev-calendar-links-change-me-0123456789"  # noqa: S105 - dev default, refused in prod


class EventsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_EVENTS_", extra="ignore")

    service_name: str = "events"
    database_url: str = "sqlite+aiosqlite:///.tandem/events.db"
    # The scheduler's wall-clock budget per run (CP-SAT stops there with its best schedule).
    schedule_time_limit_seconds: float = Field(10.0, gt=0, le=300)
    # The same budget for repairing one event's schedule after a change.
    repair_time_limit_seconds: float = Field(5.0, gt=0, le=300)
    # How often the repairer looks for pending repairs besides being woken by a route
    # (a safety net: a wake-up is lost if the process dies between commit and response).
    repair_poll_seconds: float = Field(5.0, gt=0, le=3600)
    # Solver runs of an explicit POST .../schedule before a concurrent change answers 409.
    schedule_attempts: int = Field(2, ge=1, le=10)
    # How long a signed agenda.ics link (for calendar subscriptions) stays valid.
    calendar_link_days: int = Field(180, ge=1, le=3650)
    # Signs those links (its own secret, never a token key); rotating it revokes them all.
    calendar_link_secret: SecretStr = SecretStr(DEV_CALENDAR_LINK_SECRET)
    # The ORGANIZER of meeting invitations (RFC 5546 requires one on a REQUEST or CANCEL;
    # calendar apps refuse or mangle an invitation without): the hub's events mailbox.
    invite_organizer: str = Field("events@tandem.local", min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _refuse_dev_secret_in_prod(self) -> EventsSettings:
        if self.environment == "prod":
            refuse_weak_secret(
                self.calendar_link_secret,
                DEV_CALENDAR_LINK_SECRET,
                "TANDEM_EVENTS_CALENDAR_LINK_SECRET",
            )
        return self
