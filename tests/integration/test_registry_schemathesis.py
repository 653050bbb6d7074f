"""schemathesis against the registry's own OpenAPI, in process (ASGI) on PostgreSQL: every
operation with generated requests and a valid bearer token of hub `demo`; no answer may be
a 5xx or disagree with the documented response schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.transport.asgi import ASGI_TRANSPORT
from schemathesis.transport.prepare import get_exclude_headers

from tandem_registry.app import create_app
from tandem_registry.settings import RegistrySettings
from tandem_shared.auth import Role
from tests import support
from tests.support import examples, service_settings

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = examples(10, 100)


@pytest.fixture
def registry_settings(
    clean_databases: dict[str, str], kafka: Any, topic_prefix: str
) -> RegistrySettings:
    return service_settings(
        RegistrySettings,
        database_url=clean_databases["registry"],
        kafka=kafka,
        prefix=topic_prefix,
    )


@pytest.fixture
def registry_app(registry_settings: RegistrySettings) -> Iterator[FastAPI]:
    """A registry app that schemathesis's ASGI transport starts (its lifespan, in its own
    event loop, seeds hub `demo`); stopped before the tables are emptied."""
    app = create_app(registry_settings)
    try:
        yield app
    finally:
        shutdown_lifespans()


@pytest.fixture
def bearer(registry_settings: RegistrySettings) -> dict[str, str]:
    return support.bearer(registry_settings, "demo", Role.HUB_ADMIN, subject="admin@demo.local")


def _openapi() -> dict[str, Any]:
    """The registry's OpenAPI document (building the app connects to nothing)."""
    return create_app(RegistrySettings(seed_dev_admin=False)).openapi()


# JSON lines and CSV bodies are documented as strings: send them as text.
schemathesis.serializer.alias(["application/x-ndjson", "text/csv"], "text/plain")

# Loaded from the document rather than from a running app (schemathesis's lazy pytest
# loader does not work with pytest 9); requests go to the fixture's app over ASGI.
schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_documented_responses(
    case: Any, registry_app: FastAPI, bearer: dict[str, str]
) -> None:
    response = ASGI_TRANSPORT.send(case, app=registry_app, headers=dict(bearer))
    token_sent = "Authorization" not in get_exclude_headers(case)  # negative cases drop it
    if token_sent and case.operation.path != "/v1/auth/token":
        # The token is valid: a 401 would mean the run tested nothing but authentication.
        assert response.status_code != 401, response.text
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance], headers=bearer
    )
