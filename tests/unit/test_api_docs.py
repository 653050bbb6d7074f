"""Every service documents its API for people and tools: the Swagger UI and ReDoc pages
work offline (their scripts and styles come from the service itself, since hubs run
air-gapped or behind proxies), and each OpenAPI document is valid OpenAPI (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from tandem_events.app import create_app as events_app
from tandem_matcher.app import create_app as matcher_app
from tandem_notifier.app import create_app as notifier_app
from tandem_registry.app import create_app as registry_app

pytestmark = pytest.mark.unit

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "registry": registry_app,
    "matcher": matcher_app,
    "events": events_app,
    "notifier": notifier_app,
}
# Every URL a docs page loads: script and link targets, and the OpenAPI document it reads.
LOADED_URL = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|url: '([^']+)'""")


def _client(app: FastAPI) -> httpx.AsyncClient:
    # No lifespan: the service is "starting", as a hub's service is while its database
    # is not up yet; its docs answer all the same.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _loaded_urls(html: str) -> list[str]:
    return [first or second for first, second in LOADED_URL.findall(html)]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_local_assets_and_each_answers(
    service: str, page: str
) -> None:
    async with _client(SERVICES[service]()) as client:
        html = (await client.get(page)).text
        urls = _loaded_urls(html)
        assert any(url.endswith(".js") for url in urls), html
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
            response = await client.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code}"
            assert len(response.content) > 1000, f"{url} is nearly empty"


def _openapi(service: str) -> dict[str, Any]:
    return SERVICES[service]().openapi()


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_is_valid_openapi(service: str) -> None:
    validate(_openapi(service))


# The bodies staff and integrators write most: every field says what it is.
DESCRIBED = {
    "registry": ["ProfileIn", "ProfilePatch", "TextItem", "Contact"],
    "events": ["EventIn", "EventPatch", "SessionIn"],
}


@pytest.mark.parametrize("service", DESCRIBED)
def test_the_most_used_bodies_describe_every_field(service: str) -> None:
    schemas = _openapi(service)["components"]["schemas"]
    for name in DESCRIBED[service]:
        properties = schemas[name]["properties"]
        undescribed = [field for field, schema in properties.items() if "description" not in schema]
        assert not undescribed, f"{name}: {undescribed}"
