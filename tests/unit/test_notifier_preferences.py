"""Validation of subscriptions and preferences, and their stored form."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

import pytest
from pydantic import ValidationError

from tandem_notifier.domain.preferences import (
    Preferences,
    QuietHours,
    Subscriptions,
    item_of,
    preferences_of,
    preferences_values,
    target_of,
)

pytestmark = pytest.mark.unit


def test_every_subscription_scope_survives_storage() -> None:
    items: list[dict[str, Any]] = [
        {"scope": "hub", "hub": "demo"},
        {"scope": "sector", "kind": "creative"},
        {"scope": "sector", "kind": "heritage", "subsector": "museum"},
        {"scope": "profile", "profile_id": str(uuid.uuid4())},
        {"scope": "network"},
    ]
    parsed = Subscriptions.model_validate({"items": items}).items
    assert [item_of(item.scope, target_of(item)) for item in parsed] == parsed
    assert target_of(parsed[2]) == "heritage/museum"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"scope": "sector", "kind": "bakery"}], "Input should be"),
        ([{"scope": "hub", "hub": "Not A Hub"}], "should match pattern"),
        ([{"scope": "planet"}], "does not match any of the expected tags"),
        ([{"scope": "profile", "profile_id": "x"}], "valid UUID"),
        ([{"scope": "network"}, {"scope": "network"}], "only once"),
        ([{"scope": "network", "extra": 1}], "Extra inputs"),
    ],
)
def test_bad_subscriptions_are_refused_clearly(items: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Subscriptions.model_validate({"items": items})


def test_preferences_default_to_the_feed_at_once_in_english() -> None:
    assert Preferences().model_dump() == {
        "channels": ["feed"],
        "delivery": "immediate",
        "language": "en",
        "daily_cap": None,
        "quiet_hours": None,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": []}, "at least 1"),
        ({"channels": ["sms"]}, "Input should be"),
        ({"channels": ["email", "email"]}, "only once"),
        ({"language": "fr"}, "Input should be"),
        ({"delivery": "weekly"}, "Input should be"),
        ({"daily_cap": 0}, "greater than or equal to 1"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "same time"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Base"}}, "IANA"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "time"),
    ],
)
def test_bad_preferences_are_refused_clearly(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Preferences.model_validate(change)


def test_preferences_survive_storage() -> None:
    preferences = Preferences(
        channels=["email", "feed"],
        delivery="daily_digest",
        language="sl",
        daily_cap=5,
        quiet_hours=QuietHours(start=time(22), end=time(7), timezone="Europe/Ljubljana"),
    )
    assert preferences_of(preferences_values(preferences)) == preferences
    assert preferences_of(preferences_values(Preferences())) == Preferences()
