"""When and whether a personal (email) delivery goes out (pure; every clock is a parameter).

Transactional messages (meeting scheduled/cancelled) always go out at once. Others are
held for the daily digest when the recipient chose it or is over their daily cap (so an
over-cap alert is late, never lost), and deferred to the end of the recipient's quiet
hours. Failed sends are retried with exponential backoff until `max_attempts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tandem_notifier.domain.preferences import Preferences, QuietHours


class Channel(StrEnum):
    """Where a notification goes: the hub's feed, a staff member's email, the hub's webhook."""

    FEED = "feed"
    EMAIL = "email"
    WEBHOOK = "webhook"


class Status(StrEnum):
    """A delivery's state: `digested` is held for the recipient's digest, `suppressed`
    will never be sent (its news went moot, or the recipient unsubscribed)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    DIGESTED = "digested"


@dataclass(frozen=True)
class Decision:
    status: Status
    not_before: datetime
    reason: str | None = None


def recipient_zone(preferences: Preferences) -> ZoneInfo:
    """The recipient's time zone: the one of their quiet hours, else UTC."""
    zone = preferences.quiet_hours.timezone if preferences.quiet_hours else "UTC"
    return ZoneInfo(zone)


def day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of the recipient's local day containing `now` (aware)."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def _in_quiet(local: time, quiet: QuietHours) -> bool:
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end  # overnight, e.g. 22:00-07:00


def quiet_until(now: datetime, quiet: QuietHours | None) -> datetime | None:
    """The end of the quiet period `now` falls in, or None when `now` is not quiet."""
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    if not _in_quiet(local.time().replace(tzinfo=None), quiet):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end


def decide(
    now: datetime, preferences: Preferences, *, transactional: bool, sent_today: int
) -> Decision:
    """What to do with a new email for this recipient; `sent_today` counts the
    non-transactional emails already queued or sent in their local day."""
    if transactional:
        return Decision(Status.PENDING, now)
    if preferences.delivery == "daily_digest":
        return Decision(Status.DIGESTED, now, "daily digest chosen")
    cap = preferences.daily_cap
    if cap is not None and sent_today >= cap:
        return Decision(Status.DIGESTED, now, f"daily cap of {cap} reached")
    deferred = quiet_until(now, preferences.quiet_hours)
    if deferred is not None:
        return Decision(Status.PENDING, deferred, "quiet hours")
    return Decision(Status.PENDING, now)


def retry_delay(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failed try: base, 2·base, 4·base, ..."""
    exponent = max(0, attempts - 1)
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** min(exponent, 30)))


def after_failure(
    now: datetime,
    attempts: int,
    *,
    max_attempts: int,
    base_seconds: float,
    max_seconds: float,
    permanent: bool = False,
) -> tuple[Status, datetime]:
    """The status and next try of a delivery whose `attempts`-th try just failed."""
    if permanent or attempts >= max_attempts:
        return Status.FAILED, now
    return Status.PENDING, now + retry_delay(
        attempts, base_seconds=base_seconds, max_seconds=max_seconds
    )


def digest_date(now: datetime, preferences: Preferences, hour: int) -> date | None:
    """The local date whose digest is due at `now` (from `hour` local time), else None."""
    local = now.astimezone(recipient_zone(preferences))
    return local.date() if local.hour >= hour else None
