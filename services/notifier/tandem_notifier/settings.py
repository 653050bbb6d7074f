from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from tandem_shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    database_url: str = "sqlite+aiosqlite:///.tandem/notifier.db"
