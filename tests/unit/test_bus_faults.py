"""A consumer tells an outage from a bad message: outages are retried without limit, bad
messages are dead-lettered, anything else is retried and judged by whether it repeats."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NotCoordinatorForGroupError,
    UnknownTopicOrPartitionError,
)
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc

from tandem_shared.bus.faults import Fault, PoisonMessage, backoff, classify
from tandem_shared.errors import Conflict, Invalid, NotFound

pytestmark = pytest.mark.unit


def _wrapped(driver_error: Exception) -> sa_exc.DBAPIError:
    """How SQLAlchemy hands a driver error to the caller."""
    return sa_exc.OperationalError("SELECT 1", {}, driver_error)


def _validation_error() -> ValidationError:
    class Needs(BaseModel):
        number: int

    try:
        Needs.model_validate({"number": "many"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


def _raised_from(error: Exception, cause: BaseException) -> Exception:
    try:
        raise error from cause
    except Exception as raised:
        return raised


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        OSError(113, "No route to host"),
        _wrapped(asyncpg.CannotConnectNowError("the database system is starting up")),
        _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        sa_exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")),
        sa_exc.DBAPIError("SELECT 1", {}, Exception("lost"), connection_invalidated=True),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        KafkaConnectionError("Unable to bootstrap from 127.0.0.1:9092"),
        KafkaTimeoutError(),
        UnknownTopicOrPartitionError(),
        NotCoordinatorForGroupError(),
        # A handler that wrapped an outage in its own error is still failing on the outage.
        _raised_from(RuntimeError("could not load the profile"), ConnectionRefusedError(111)),
    ],
    ids=lambda error: type(error).__name__,
)
def test_outages_are_transient(error: Exception) -> None:
    assert classify(error) is Fault.TRANSIENT


@pytest.mark.parametrize(
    "error",
    [
        PoisonMessage("unknown time zone"),
        Invalid("starts_at", "must be before ends_at"),
        NotFound("no such event"),
        Conflict("stale version"),
        _validation_error(),
        # A refusal is a refusal even when it was raised while handling an outage.
        _raised_from(PoisonMessage("bad pair"), ConnectionResetError(104)),
    ],
    ids=lambda error: type(error).__name__,
)
def test_refusals_are_poison(error: Exception) -> None:
    assert classify(error) is Fault.POISON


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        KeyError("missing"),
        ValueError("bad value"),
        FileNotFoundError(2, "No such file or directory"),  # an OSError, but not a network one
        sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_everything_else_is_unknown(error: Exception) -> None:
    assert classify(error) is Fault.UNKNOWN


def test_a_cycle_of_causes_ends() -> None:
    first, second = RuntimeError("first"), RuntimeError("second")
    first.__context__, second.__context__ = second, first
    assert classify(first) is Fault.UNKNOWN


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(failures, base=0.2, cap=15.0) for failures in range(0, 12)]
    assert delays[:5] == [0.0, 0.2, 0.4, 0.8, 1.6]
    assert delays[-1] == 15.0
    assert delays == sorted(delays)
    assert backoff(10_000, base=0.2, cap=15.0) == 15.0
