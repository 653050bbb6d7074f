"""Where a trusted issuer's public keys come from: configured with the issuer (static), or
fetched from its JWKS URL and cached.

The cache refetches when its copy is older than `fresh_for`, and when a token names a
`kid` it does not know (the issuer may have rotated), but never more than once per
`refresh_interval`, so tokens with made-up key ids cannot make us hammer the issuer. While
refetching fails, the last good keys are still used for `stale_for`; after that the
issuer's tokens cannot be verified (KeysUnavailable) until its JWKS answers again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import httpx
from jwt import PyJWK, PyJWTError

from tandem_shared.identity.keys import ACCEPTED_ALGORITHMS, KeyProblem, thumbprint
from tandem_shared.identity.principal import InvalidToken, KeysUnavailable
from tandem_shared.logging import get_logger

log = get_logger(__name__)

Fetch = Callable[[str], Awaitable[Any]]
Clock = Callable[[], float]
MAX_JWKS_BYTES = 256 * 1024


def usable_keys(jwks: Iterable[Any]) -> dict[str, PyJWK]:
    """The signature keys of accepted algorithms, by `kid` (the thumbprint when a key has
    none). Encryption keys, symmetric (`oct`) keys and unknown key types are skipped."""
    keys: dict[str, PyJWK] = {}
    for jwk in jwks:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(jwk)
            kid = jwk.get("kid") or thumbprint(jwk)
        except (PyJWTError, KeyProblem):
            continue
        if key.algorithm_name in ACCEPTED_ALGORITHMS and isinstance(kid, str):
            keys[kid] = key
    return keys


def pick(keys: Mapping[str, PyJWK], kid: str | None) -> PyJWK | None:
    """The key a token names; a token without `kid` only when there is a single key."""
    if kid is None:
        return next(iter(keys.values())) if len(keys) == 1 else None
    return keys.get(kid)


class KeySource(Protocol):
    async def key(self, kid: str | None) -> PyJWK:
        """The verification key for `kid`; InvalidToken if unknown, KeysUnavailable if the
        issuer's keys cannot be had now."""
        ...


class StaticKeys:
    """Keys configured with the issuer (or a registry's own): nothing to fetch."""

    def __init__(self, jwks: Iterable[Any]) -> None:
        self._keys = usable_keys(jwks)
        if not self._keys:
            raise KeyProblem("no usable signature key (Ed25519, EC or RSA public keys)")

    async def key(self, kid: str | None) -> PyJWK:
        found = pick(self._keys, kid)
        if found is None:
            raise InvalidToken(f"unknown key id {kid!r}")
        return found


class JwksCache:
    """An issuer's JWKS, fetched over HTTP and cached (see the module docstring)."""

    def __init__(
        self,
        url: str,
        fetch: Fetch,
        *,
        fresh_for: float,
        stale_for: float,
        refresh_interval: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._fresh_for = fresh_for
        self._usable_for = fresh_for + stale_for
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # HTTP requests made (observability, tests)

    async def key(self, kid: str | None) -> PyJWK:
        if not self._age_below(self._fresh_for):
            await self._refresh()
        found = pick(self._current(), kid)
        if found is None:
            await self._refresh()  # the issuer may have rotated: look again (rate-limited)
            found = pick(self._current(), kid)
        if found is not None:
            return found
        if not self._current():
            raise KeysUnavailable(f"the keys at {self.url} cannot be fetched now")
        raise InvalidToken(f"unknown key id {kid!r}")

    def _age_below(self, seconds: float) -> bool:
        return self._fetched_at is not None and self._clock() - self._fetched_at < seconds

    def _current(self) -> dict[str, PyJWK]:
        return self._keys if self._age_below(self._usable_for) else {}

    def _may_attempt(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or self._clock() - attempted >= self._refresh_interval

    async def _refresh(self) -> None:
        # Through the lock even when rate-limited: a request arriving during another's
        # fetch waits for its result instead of finding no keys yet.
        async with self._lock:
            if not self._may_attempt():
                return
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                document = await self._fetch(self.url)
                keys = usable_keys(document.get("keys", []) if isinstance(document, dict) else [])
            except Exception as error:  # any failure: keep the last good keys
                log.warning("jwks.fetch_failed", url=self.url, error=repr(error))
                return
            if not keys:
                log.warning("jwks.no_usable_keys", url=self.url)
                return
            self._keys, self._fetched_at = keys, self._clock()


def http_fetch(client: httpx.AsyncClient) -> Fetch:
    """Fetch a JWKS document with `client` (no redirects; bounded size)."""

    async def fetch(url: str) -> Any:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError(f"the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes")
        return response.json()

    return fetch
