"""Who may read what of an event (`tandem_events.domain.audience`), pure."""

from __future__ import annotations

import uuid

import pytest

from tandem_events.domain.audience import (
    WITHHELD,
    Attendee,
    Audience,
    Standing,
    may_attend,
)
from tandem_shared.contracts import Sharing
from tandem_shared.identity.principal import Principal, Role


def caller(hub: str, role: Role = Role.STAFF) -> Principal:
    return Principal(subject=f"{role.value}@{hub}", hub=hub, role=role)


def attendee(hub: str, sharing: Sharing | None) -> Attendee:
    return Attendee(registration_id=uuid.uuid4(), hub=hub, sharing=sharing)


ORGANISER = Audience("north", Standing.ORGANISER)
NETWORK = Audience("east", Standing.NETWORK)
SOUTH = Audience.participant("south")
NORTH_HIDDEN = attendee("north", Sharing.HUB)
NORTH_SHARED = attendee("north", Sharing.NETWORK)
SOUTH_HIDDEN = attendee("south", Sharing.HUB)
SOUTH_SHARED = attendee("south", Sharing.NETWORK)
EAST_SHARED = attendee("east", Sharing.NETWORK)
ERASED = attendee("east", None)  # no longer in the directory


@pytest.mark.parametrize(
    ("principal", "participants", "standing"),
    [
        (caller("north"), [], Standing.ORGANISER),
        (caller("north", Role.NETWORK_ADMIN), ["south"], Standing.ORGANISER),
        (caller("east", Role.NETWORK_ADMIN), [], Standing.NETWORK),
        (caller("south"), ["north", "south"], Standing.PARTICIPANT),
        (caller("south", Role.HUB_ADMIN), ["south"], Standing.PARTICIPANT),
        (caller("east"), ["north", "south"], Standing.OUTSIDER),
        (caller("east", Role.HUB_ADMIN), ["north", "south"], Standing.OUTSIDER),
    ],
)
def test_standing_at_an_event_organised_by_north(
    principal: Principal, participants: list[str], standing: Standing
) -> None:
    assert Audience.of(principal, "north", participants).standing is standing


def test_a_hub_only_organisation_is_named_only_to_its_own_hub_and_a_network_admin() -> None:
    assert SOUTH.name(SOUTH_HIDDEN, "Studio") == "Studio"
    assert SOUTH.name(NORTH_HIDDEN, "Archive") == WITHHELD
    assert ORGANISER.name(SOUTH_HIDDEN, "Studio") == WITHHELD  # even to the organiser
    assert ORGANISER.name(NORTH_HIDDEN, "Archive") == "Archive"
    assert NETWORK.name(SOUTH_HIDDEN, "Studio") == "Studio"
    for audience in (ORGANISER, NETWORK, SOUTH):
        assert audience.name(EAST_SHARED, "Maker") == "Maker"
        assert audience.name(ERASED, None) == WITHHELD
    assert not SOUTH.sees_organisation(ERASED)  # unknown sharing counts as hub-only


def test_lists_of_registrations() -> None:
    everyone = (NORTH_HIDDEN, NORTH_SHARED, SOUTH_HIDDEN, SOUTH_SHARED, EAST_SHARED, ERASED)
    assert all(ORGANISER.lists(a) for a in everyone)  # it runs the event (names withheld)
    assert [SOUTH.lists(a) for a in everyone] == [False, True, True, True, True, False]
    assert [NETWORK.lists(a) for a in everyone] == [True] * 6


def test_an_outsider_sees_no_registration_and_no_pair() -> None:
    outsider = Audience("west", Standing.OUTSIDER)
    everyone = (NORTH_HIDDEN, NORTH_SHARED, SOUTH_SHARED, EAST_SHARED)
    assert not any(outsider.lists(a) or outsider.follows(a) for a in everyone)
    assert not outsider.sees_pair(NORTH_SHARED, SOUTH_SHARED)
    assert not any(outsider.sees_contact(a) for a in everyone)


def test_contacts_only_for_the_organiser_of_organisations_it_may_see() -> None:
    assert ORGANISER.sees_contact(NORTH_HIDDEN) and ORGANISER.sees_contact(SOUTH_SHARED)
    assert not ORGANISER.sees_contact(SOUTH_HIDDEN)
    assert not NETWORK.sees_contact(NORTH_SHARED)
    assert not SOUTH.sees_contact(SOUTH_SHARED)


def test_pairs_and_agendas_a_participants_hub_follows_only_its_own() -> None:
    assert SOUTH.sees_pair(SOUTH_SHARED, NORTH_SHARED)
    assert SOUTH.sees_pair(NORTH_HIDDEN, SOUTH_HIDDEN)
    assert not SOUTH.sees_pair(NORTH_SHARED, EAST_SHARED)
    assert ORGANISER.sees_pair(SOUTH_SHARED, EAST_SHARED)
    assert NETWORK.sees_pair(SOUTH_SHARED, EAST_SHARED)
    assert SOUTH.follows(SOUTH_HIDDEN) and not SOUTH.follows(NORTH_SHARED)
    assert ORGANISER.follows(EAST_SHARED) and NETWORK.follows(EAST_SHARED)


@pytest.mark.parametrize(
    ("profile_hub", "sharing", "allowed"),
    [
        ("north", Sharing.HUB, True),
        ("north", Sharing.NETWORK, True),
        ("south", Sharing.NETWORK, True),
        ("south", Sharing.HUB, False),
    ],
)
def test_a_hub_only_profile_attends_only_its_own_hubs_events(
    profile_hub: str, sharing: Sharing, allowed: bool
) -> None:
    assert may_attend(profile_hub, sharing, event_hub="north") is allowed
