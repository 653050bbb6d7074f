from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings


class MatcherSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_MATCHER_", extra="ignore")

    service_name: str = "matcher"
    database_url: str = "sqlite+aiosqlite:///.tandem/matcher.db"
    encoder: str = Field(
        "use-m3", description="use-m3 (Universal Sentence Encoder multilingual v3)"
    )
    encoder_threads: int = 2
    threshold: float = Field(0.45, ge=0, le=1, description="minimum score for a suggestion")
    top_k: int = Field(10, ge=1, le=100)
    material_change: float = Field(0.05, gt=0, description="score change that counts as an update")
