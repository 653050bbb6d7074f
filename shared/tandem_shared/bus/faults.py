"""Which failures are the message's fault and which are the infrastructure's.

A consumer must never dead-letter a good message because the database or the broker was
down for a while, and must never stall a partition for good on a message that can never be
handled. `classify` sorts an exception (following SQLAlchemy's `orig` and Python's cause
and context chains) into:

- `POISON`: deterministic, retrying cannot help (`PoisonMessage`, the `TandemError`
  family, pydantic validation): dead-letter at once;
- `TRANSIENT`: the database, the broker or the network failed (refused or dropped
  connections, timeouts, a server that does not accept connections, serialization
  failures): retry without limit while the infrastructure is down;
- `UNKNOWN`: anything else, most likely a bug: retry a few times, and dead-letter only
  when it repeats while the infrastructure is healthy.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from enum import StrEnum

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from tandem_shared.errors import TandemError


class PoisonMessage(Exception):
    """A message that can never be handled: dead-letter it at once, no retries."""


class Fault(StrEnum):
    POISON = "poison"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
    }
)
_POISON = (PoisonMessage, TandemError, ValidationError)
_TRANSIENT = (
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    # SQLAlchemy's DBAPI classes for a lost or refused connection, a pool timeout, and
    # (on SQLite) a locked database.
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    # asyncpg: connection failures, the server shutting down or starting up
    # (CannotConnectNowError), too many connections, serialization failures and deadlocks.
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    # aiokafka: the broker is unreachable or did not answer in time (both not "retriable"
    # by aiokafka's flag, which covers the broker's own retriable error codes).
    KafkaConnectionError,
    KafkaTimeoutError,
)


# The exception classes an outage can surface as (for handlers that must pick by class).
OUTAGE_CLASSES: tuple[type[Exception], ...] = (
    OSError,
    sa_exc.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wrapped, and their causes and contexts."""
    seen: set[int] = set()
    pending = [error]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [getattr(current, "orig", None), current.__cause__, current.__context__]
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS:
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def classify(error: BaseException) -> Fault:
    """POISON if the error says the message is bad, TRANSIENT if anything in its chain is an
    infrastructure failure, UNKNOWN otherwise. Poison wins: a refusal raised while handling
    an earlier connection error is still a refusal of this message."""
    chain = list(_chain(error))
    if isinstance(chain[0], _POISON):
        return Fault.POISON
    if any(_is_transient(item) for item in chain):
        return Fault.TRANSIENT
    return Fault.UNKNOWN


def backoff(failures: int, *, base: float, cap: float) -> float:
    """Capped exponential backoff: base, 2·base, 4·base, … never more than `cap`."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2.0 ** min(failures - 1, 30)))
