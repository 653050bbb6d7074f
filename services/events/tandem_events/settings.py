from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings


class EventsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_EVENTS_", extra="ignore")

    service_name: str = "events"
    database_url: str = "sqlite+aiosqlite:///.tandem/events.db"
