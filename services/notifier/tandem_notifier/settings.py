from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    database_url: str = "sqlite+aiosqlite:///.tandem/notifier.db"
    # Live stream: a commit in this process wakes streams at once; the poll catches rows
    # written by another replica. A stream ends after `stream_max_seconds` (the client
    # reconnects with Last-Event-ID), so a shutdown never waits on an idle stream for long.
    stream_poll_seconds: float = Field(2.0, gt=0)
    stream_max_seconds: float = Field(300.0, gt=0)
    stream_grace_seconds: float = Field(5.0, ge=0)
    stream_batch: int = Field(100, ge=1, le=1000)
