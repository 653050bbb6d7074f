"""Who hears of what, and when an email goes out: recipients, digest, caps, quiet hours,
backoff, digest grouping and webhook signatures (pure, fixed clocks)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem_notifier.domain.digest import group_by_profile, held_events
from tandem_notifier.domain.i18n import STRINGS, strings
from tandem_notifier.domain.policy import (
    Status,
    after_failure,
    day_start,
    decide,
    digest_date,
    quiet_until,
    retry_delay,
)
from tandem_notifier.domain.preferences import Preferences, QuietHours, email_address
from tandem_notifier.domain.recipients import (
    ProfileFacts,
    StoredSubscription,
    event_recipients,
    match_recipients,
    sector_covers,
)
from tandem_notifier.domain.signing import headers, signature, verify
from tandem_notifier.service.fanout import known_zone
from tandem_shared.bus.consumer import PoisonMessage
from tandem_shared.contracts import Sharing

pytestmark = pytest.mark.unit

WARSAW = "Europe/Warsaw"
# A pair across hubs: both shared with the network (the matcher pairs nothing else).
MUSEUM = ProfileFacts(uuid.uuid4(), "pl-hub", "heritage", frozenset({"museum"}), Sharing.NETWORK)
STUDIO = ProfileFacts(uuid.uuid4(), "de-hub", "creative", frozenset({"ar_vr"}), Sharing.NETWORK)


def sub(hub: str, subject: str, scope: str, target: str) -> StoredSubscription:
    return StoredSubscription(hub, subject, scope, target)


def test_match_recipients_follow_each_scope() -> None:
    subscriptions = [
        sub("pl-hub", "hub-fan", "hub", "pl-hub"),
        sub("pl-hub", "sector-fan", "sector", "creative/ar_vr"),
        sub("pl-hub", "wrong-subsector", "sector", "creative/games"),
        sub("other", "foreign-sector", "sector", "creative"),  # not a side's hub
        sub("other", "profile-fan", "profile", str(STUDIO.id)),
        sub("net", "network-admin", "network", "*"),
        sub("pl-hub", "other-hub", "hub", "elsewhere"),
    ]
    assert {subject for _, subject in match_recipients(subscriptions, MUSEUM, STUDIO)} == {
        "hub-fan",
        "sector-fan",
        "profile-fan",
        "network-admin",
    }


def test_a_profile_subscription_hears_only_of_pairs_its_hub_may_see() -> None:
    """Following another hub's shared profile does not open that hub's own pairs: a match
    with one of its hub-only profiles (or one the notifier has not seen) stays there."""
    hidden = ProfileFacts(uuid.uuid4(), "de-hub", "industry", sharing=Sharing.HUB)
    unseen = ProfileFacts(uuid.uuid4(), "de-hub")
    own_hidden = ProfileFacts(uuid.uuid4(), "pl-hub", sharing=Sharing.HUB)
    subscriptions = [
        sub("pl-hub", "pl-fan", "profile", str(STUDIO.id)),
        sub("de-hub", "de-fan", "profile", str(STUDIO.id)),
    ]
    for other in (hidden, unseen):
        assert match_recipients(subscriptions, STUDIO, other) == {("de-hub", "de-fan")}
    assert match_recipients(subscriptions, STUDIO, MUSEUM) == {
        ("pl-hub", "pl-fan"),
        ("de-hub", "de-fan"),
    }
    # The subscriber's own hub-only profiles are its own to see.
    assert ("pl-hub", "pl-fan") in match_recipients(subscriptions, STUDIO, own_hidden)


def test_sector_targets_cover_kind_and_subsector() -> None:
    assert sector_covers("heritage", "heritage", ())
    assert sector_covers("heritage/museum", "heritage", ["museum", "archive"])
    assert not sector_covers("heritage/archive", "heritage", ["museum"])
    assert not sector_covers("creative", "heritage", ["creative"])
    assert not sector_covers("heritage", None, ())


def test_event_recipients_are_sector_subscribers_of_its_kinds() -> None:
    subscriptions = [
        sub("a", "x", "sector", "creative/ar_vr"),
        sub("b", "y", "sector", "industry"),
        sub("c", "z", "hub", "c"),
    ]
    assert event_recipients(subscriptions, ["creative", "heritage"]) == {("a", "x")}


NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Warsaw (CEST)
NIGHT = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)  # 23:30 in Warsaw
QUIET = QuietHours(start=time(22), end=time(7), timezone=WARSAW)


def test_transactional_messages_bypass_digest_cap_and_quiet_hours() -> None:
    strict = Preferences(delivery="daily_digest", daily_cap=1, quiet_hours=QUIET)
    decision = decide(NIGHT, strict, transactional=True, sent_today=99)
    assert (decision.status, decision.not_before) == (Status.PENDING, NIGHT)


def test_digest_choice_and_cap_hold_alerts_for_the_digest() -> None:
    digest = decide(NOON, Preferences(delivery="daily_digest"), transactional=False, sent_today=0)
    assert digest.status is Status.DIGESTED
    capped = Preferences(daily_cap=2)
    assert decide(NOON, capped, transactional=False, sent_today=1).status is Status.PENDING
    over = decide(NOON, capped, transactional=False, sent_today=2)
    assert over.status is Status.DIGESTED and "cap" in (over.reason or "")


def test_quiet_hours_defer_to_their_local_end() -> None:
    prefs = Preferences(quiet_hours=QUIET)
    decision = decide(NIGHT, prefs, transactional=False, sent_today=0)
    assert decision.status is Status.PENDING
    assert decision.not_before == datetime(2026, 6, 11, 7, 0, tzinfo=ZoneInfo(WARSAW))
    early = datetime(2026, 6, 11, 3, 0, tzinfo=UTC)  # 05:00 local, same quiet night
    assert quiet_until(early, QUIET) == datetime(2026, 6, 11, 7, 0, tzinfo=ZoneInfo(WARSAW))
    assert decide(NOON, prefs, transactional=False, sent_today=0).not_before == NOON
    daytime = QuietHours(start=time(12), end=time(13), timezone="UTC")
    assert quiet_until(datetime(2026, 6, 10, 12, 30, tzinfo=UTC), daytime) == datetime(
        2026, 6, 10, 13, 0, tzinfo=ZoneInfo("UTC")
    )
    assert quiet_until(datetime(2026, 6, 10, 13, 0, tzinfo=UTC), daytime) is None


def test_the_cap_counts_the_recipients_local_day() -> None:
    start = day_start(NIGHT, ZoneInfo("Asia/Tokyo"))  # 06:30 on the 11th in Tokyo
    assert start == datetime(2026, 6, 11, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_backoff_doubles_up_to_a_cap_then_fails_after_n() -> None:
    delays = [retry_delay(n, base_seconds=1, max_seconds=5) for n in range(1, 6)]
    assert delays == [timedelta(seconds=s) for s in (1, 2, 4, 5, 5)]
    args: dict[str, Any] = {"max_attempts": 3, "base_seconds": 1, "max_seconds": 60}
    assert after_failure(NOON, 2, **args) == (Status.PENDING, NOON + timedelta(seconds=2))
    assert after_failure(NOON, 3, **args) == (Status.FAILED, NOON)
    assert after_failure(NOON, 1, permanent=True, **args)[0] is Status.FAILED


def test_digest_is_due_from_the_local_hour() -> None:
    prefs = Preferences(quiet_hours=QUIET)
    assert digest_date(datetime(2026, 6, 10, 5, 0, tzinfo=UTC), prefs, 8) is None  # 07:00
    assert digest_date(datetime(2026, 6, 10, 6, 0, tzinfo=UTC), prefs, 8) == date(2026, 6, 10)


def _match_payload(a: ProfileFacts, b: ProfileFacts, names: tuple[str, str], score: float) -> Any:
    match = {
        "pair_id": f"{a.id}:{b.id}",
        "profile_a": str(a.id),
        "profile_b": str(b.id),
        "hub_a": a.hub,
        "hub_b": b.hub,
        "score": score,
        "explanation": {"summary": f"{names[0]} and {names[1]}"},
    }
    return {"match": match, "name_a": names[0], "name_b": names[1]}


def test_digest_groups_alerts_by_the_recipients_own_profile() -> None:
    archive = ProfileFacts(uuid.uuid4(), "pl-hub", "heritage")
    printer = ProfileFacts(uuid.uuid4(), "cz-hub", "industry")
    entries = [
        ("match.suggested", _match_payload(MUSEUM, STUDIO, ("Muzeum", "Studio"), 0.8)),
        ("match.suggested", _match_payload(printer, MUSEUM, ("Printer", "Muzeum"), 0.6)),
        ("match.updated", _match_payload(archive, STUDIO, ("Archiwum", "Studio"), 0.7)),
    ]
    groups = group_by_profile(entries, "pl-hub")
    assert [(g.profile_name, [i.partner_name for i in g.items]) for g in groups] == [
        ("Archiwum", ["Studio"]),
        ("Muzeum", ["Studio", "Printer"]),
    ]


def test_email_address_comes_from_preferences_or_the_token_subject() -> None:
    assert email_address(Preferences(), "anna@hub.example") == "anna@hub.example"
    assert email_address(Preferences(email="desk@hub.example"), "anna@x") == "desk@hub.example"
    assert email_address(Preferences(), "service-account") is None
    assert "email" not in Preferences().model_dump()


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    header = signature("s3cret-s3cret-s3cret", 1700000000, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify("s3cret-s3cret-s3cret", 1700000000, body, header)
    assert not verify("s3cret-s3cret-s3cret", 1700000001, body, header)
    assert not verify("another-secret-value", 1700000000, body, header)
    sent = headers("s3cret-s3cret-s3cret", 1700000000, body, "d-1")
    assert sent["X-Tandem-Delivery"] == "d-1" and sent["X-Tandem-Signature"] == header


def test_every_language_has_every_string() -> None:
    assert set(STRINGS) == {"en", "pl", "de", "sl"}
    for language, words in STRINGS.items():
        assert set(words) == set(STRINGS["en"]), language
    assert strings("fr") == strings("en")


def test_held_events_are_listed_soonest_first() -> None:
    def event(title: str, starts: str) -> tuple[str, Any]:
        data = {
            "id": str(uuid.uuid4()),
            "title": title,
            "starts_at": starts,
            "timezone": "UTC",
            "sectors": [],
        }
        return ("event.scheduled", {"event": data})

    entries = [
        event("Later", "2027-02-01T10:00:00+00:00"),
        event("Sooner", "2027-01-01T10:00:00+00:00"),
    ]
    entries.append(("match.suggested", _match_payload(MUSEUM, STUDIO, ("M", "S"), 0.5)))
    assert [e["title"] for e in held_events(entries)] == ["Sooner", "Later"]


def test_a_meeting_in_an_unknown_time_zone_is_poison() -> None:
    known_zone("Europe/Ljubljana")
    for zone in ("Mars/Olympus_Mons", "../etc/passwd", ""):
        with pytest.raises(PoisonMessage, match="time zone"):
            known_zone(zone)
