"""How every service documents its API: Swagger UI and ReDoc with their assets served by
the service itself, and an OpenAPI document that is valid for the version it declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

# Hubs run air-gapped or behind proxies, where a CDN-loaded Swagger UI is a blank page.
DOCS_ASSETS_PATH = "/docs-assets"
# Where a stream's item schema goes in an OpenAPI 3.1 document: `itemSchema` is an
# OpenAPI 3.2 keyword, and 3.1 allows only `x-` extensions beside `schema`.
ITEM_SCHEMA_EXTENSION = "x-itemSchema"


def create_documented_app(**settings: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load their scripts from DOCS_ASSETS_PATH."""
    app = FastAPIOffline(static_url=DOCS_ASSETS_PATH, **settings)
    app.openapi = _valid_for_its_version(app.openapi)  # type: ignore[method-assign]
    return app


def _valid_for_its_version(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        document = build()  # cached by FastAPI: the rewrite below runs on the first call
        if document.get("openapi", "").startswith("3.1"):
            for media_type in _media_types(document):
                _stream_items_as_extension(media_type)
        return document

    return openapi


def _media_types(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                yield from response.get("content", {}).values()


def _stream_items_as_extension(media_type: dict[str, Any]) -> None:
    """FastAPI describes a streamed response (server-sent events, JSON lines) by the schema
    of one item (`itemSchema`, OpenAPI 3.2). In 3.1 the body is a string; the item schema
    is kept for readers as an extension."""
    if "itemSchema" not in media_type:
        return
    media_type[ITEM_SCHEMA_EXTENSION] = media_type.pop("itemSchema")
    media_type.setdefault(
        "schema",
        {"type": "string", "description": f"a stream; each item: see `{ITEM_SCHEMA_EXTENSION}`"},
    )
