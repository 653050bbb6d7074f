"""One error family for every service, mapped to HTTP once (`tandem_shared.http`).

Domain and service code raise these; routes never translate them by hand. A consumer that
meets one treats it as deterministic (the message is poison), never as an outage.
"""

from __future__ import annotations

from http import HTTPStatus


class TandemError(Exception):
    """A refusal with a message a caller can act on. `status` is its HTTP answer."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def detail(self) -> object:
        return self.message

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(TandemError):
    """No such thing visible to the caller (also used where existence must not leak)."""

    status = HTTPStatus.NOT_FOUND


class Forbidden(TandemError):
    """The caller may see the thing but may not do this to it."""

    status = HTTPStatus.FORBIDDEN


class Conflict(TandemError):
    """The request contradicts the current state (a duplicate, a stale version, ...)."""

    status = HTTPStatus.CONFLICT


class Invalid(TandemError):
    """Input that passed the schema but breaks a rule; `field` names where.

    Answered as 422 in FastAPI's own validation shape, so clients read one format."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason

    def detail(self) -> object:
        return [{"loc": ["body", self.field], "msg": self.reason, "type": "value_error"}]


class TooManyRequests(TandemError):
    """Too many attempts: retry after `retry_after` seconds (429 with Retry-After)."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
