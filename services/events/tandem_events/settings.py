from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings


class EventsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_EVENTS_", extra="ignore")

    service_name: str = "events"
    database_url: str = "sqlite+aiosqlite:///.tandem/events.db"
    # The scheduler's wall-clock budget per run (CP-SAT stops there with its best schedule).
    schedule_time_limit_seconds: float = Field(10.0, gt=0, le=300)
    repair_time_limit_seconds: float = Field(5.0, gt=0, le=300)
