"""Calls to the four services' public HTTP APIs with the signed-in person's token.

Every refusal becomes an `ApiError` carrying the service's status and detail (422s also
as `{field: reason}`); a 401 becomes `SignedOut`, which sends the person to the sign-in
page; an unreachable service becomes `Unavailable` (a 503 page, never a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx

from tandem_console.settings import ConsoleSettings

Service = Literal["registry", "matcher", "events", "notifier"]
SERVICES: tuple[Service, ...] = ("registry", "matcher", "events", "notifier")


class SignedOut(Exception):
    """No session, or the services no longer accept its token."""


class Unavailable(Exception):
    def __init__(self, service: str, error: str) -> None:
        super().__init__(f"{service} is unreachable: {error}")
        self.service = service


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def message(self) -> str:
        """One readable sentence: the detail string, or the 422's reasons joined."""
        if isinstance(self.detail, str):
            return self.detail
        if isinstance(self.detail, list):
            return "; ".join(reason for _, reason in field_errors(self.detail))
        return str(self.detail)

    def fields(self) -> dict[str, str]:
        """A 422's reasons by field path (`offers.0.text`); `""` for the whole body."""
        found: dict[str, str] = {}
        if isinstance(self.detail, list):
            for field, reason in field_errors(self.detail):
                found.setdefault(field, reason)
        return found


def field_errors(detail: list[Any]) -> list[tuple[str, str]]:
    """(field path, reason) of each entry of FastAPI's 422 detail: the location after
    `body`/`query` joined with dots, the message without pydantic's "Value error, "."""
    errors = []
    for entry in detail:
        if not isinstance(entry, Mapping):
            continue
        location = [str(part) for part in entry.get("loc", [])]
        if location and location[0] in {"body", "query", "path"}:
            location = location[1:]
        reason = str(entry.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append((".".join(location), reason))
    return errors


def base_urls(settings: ConsoleSettings) -> dict[Service, str]:
    return {
        "registry": settings.registry_url.rstrip("/"),
        "matcher": settings.matcher_url.rstrip("/"),
        "events": settings.events_url.rstrip("/"),
        "notifier": settings.notifier_url.rstrip("/"),
    }


class Backend:
    """One person's view of the services: every call carries their bearer token."""

    def __init__(
        self, client: httpx.AsyncClient, urls: Mapping[Service, str], token: str | None
    ) -> None:
        self._client = client
        self._urls = urls
        self._token = token

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._client.request(
                method,
                self._urls[service] + path,
                json=json,
                params=_query(params),
                content=content,
                data=data,
                headers=self._headers(headers),
            )
        except httpx.TransportError as error:
            raise Unavailable(service, repr(error)) from error
        raise_for_refusal(response)
        return response

    async def get(self, service: Service, path: str, **params: Any) -> Any:
        return (await self.call(service, "GET", path, params=params)).json()

    async def post(self, service: Service, path: str, json: Any = None) -> Any:
        response = await self.call(service, "POST", path, json=json)
        return response.json() if response.content else None

    async def patch(self, service: Service, path: str, json: Any) -> Any:
        return (await self.call(service, "PATCH", path, json=json)).json()

    async def put(self, service: Service, path: str, json: Any) -> Any:
        return (await self.call(service, "PUT", path, json=json)).json()

    async def delete(self, service: Service, path: str) -> None:
        await self.call(service, "DELETE", path)

    @asynccontextmanager
    async def stream(
        self, service: Service, path: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """A streamed GET (the notifier's SSE feed): no read timeout, refusals raised."""
        timeout = httpx.Timeout(10.0, read=None)
        try:
            async with self._client.stream(
                "GET", self._urls[service] + path, headers=self._headers(headers), timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                raise_for_refusal(response)
                yield response
        except httpx.TransportError as error:
            raise Unavailable(service, repr(error)) from error


def raise_for_refusal(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    if response.status_code == 401:
        raise SignedOut
    try:
        body = response.json()
    except ValueError:
        body = response.text
    detail = body.get("detail", body) if isinstance(body, dict) else body
    raise ApiError(response.status_code, detail)


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the empty ones (an unset filter is no filter)."""
    if params is None:
        return None
    return {key: value for key, value in params.items() if value not in (None, "")}
