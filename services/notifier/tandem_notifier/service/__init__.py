"""Notifier use cases, one module per sub-domain; all of them work in the caller's
transaction (the consumer's or the request's) and never commit.

- `fanout`: what a notice becomes (feed entries, emails as preferences say, webhooks);
- `matches`, `meetings`, `events`, `profiles`: the messages the notifier consumes;
- `feed`, `preferences`, `unsubscribe`, `admin`: what the HTTP API offers;
- `digests`: the daily digest emails (run by `delivery.DigestTask`).
"""

from tandem_notifier.service import (
    admin,
    digests,
    events,
    fanout,
    feed,
    matches,
    meetings,
    preferences,
    profiles,
    unsubscribe,
)

__all__ = [
    "admin",
    "digests",
    "events",
    "fanout",
    "feed",
    "matches",
    "meetings",
    "preferences",
    "profiles",
    "unsubscribe",
]
