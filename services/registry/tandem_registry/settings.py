from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from tandem_shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TANDEM_REGISTRY_", extra="ignore")

    service_name: str = "registry"
    database_url: str = "sqlite+aiosqlite:///.tandem/registry.db"
    token_ttl_minutes: int = 480
    # The dev stack creates hub `demo` with admin@demo.local; never in production.
    dev_admin_password: SecretStr = SecretStr("tandem-dev")
    seed_dev_admin: bool = True
