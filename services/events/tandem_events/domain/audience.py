"""Who may read what of an event (pure).

An event itself is an announcement to the network: every hub reads it. What happens at the
event (who registered, suggested pairs, requests, the schedule, agendas, calendars, the
table plan) is read only by:

- the organising hub's staff (`ORGANISER`): every registration, request, suggestion and
  meeting, and participants' contacts (personal data, needed to run the event);
- a network_admin (`NETWORK`): the same, without contacts (reads every hub, writes none);
- staff of a hub with a participant at the event (`PARTICIPANT`): their own participants,
  the other participants they may see (network-shared organisations: the attendee list to
  ask for meetings), and of the requests, suggestions and meetings only those with one of
  their own participants on a side (what a meeting needs of its counterpart: its name,
  slot and table);
- anyone else (`OUTSIDER`): the event's structure only (slots and tables, to decide whether
  to register someone): empty lists, and 403 for a participant's agenda or a meeting.

Whoever reads, an organisation is named only to a reader who may see it: its own hub,
network-shared, or a network_admin. A hub-only organisation is never named to another hub
(where one became hub-only after it was registered, its name and contact are withheld,
its registration only listed to the organiser, who runs the event). That is why a hub-only
organisation may only attend its own hub's events (`may_attend`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tandem_shared.contracts import Sharing
from tandem_shared.identity.principal import Principal, Role

WITHHELD = "an organisation"  # the name shown for one the reader may not see


class Standing(StrEnum):
    ORGANISER = "organiser"
    NETWORK = "network"
    PARTICIPANT = "participant"
    OUTSIDER = "outsider"


@dataclass(frozen=True, slots=True)
class Attendee:
    """A registration's organisation as the events service knows it: its hub and its
    sharing (None when the profile is not, or no longer, in the directory: treated as
    hub-only, the safe side)."""

    registration_id: uuid.UUID
    hub: str
    sharing: Sharing | None


def may_attend(profile_hub: str, sharing: Sharing, event_hub: str) -> bool:
    """A profile may be registered at an event only if the organiser may see it: at its own
    hub's events, or anywhere once shared with the network."""
    return sharing is Sharing.NETWORK or profile_hub == event_hub


@dataclass(frozen=True, slots=True)
class Audience:
    """One reader of one event."""

    hub: str
    standing: Standing

    @classmethod
    def of(cls, principal: Principal, event_hub: str, participant_hubs: Iterable[str]) -> Audience:
        """The caller's standing at the event."""
        if principal.hub == event_hub:
            return cls(principal.hub, Standing.ORGANISER)
        if principal.role is Role.NETWORK_ADMIN:
            return cls(principal.hub, Standing.NETWORK)
        if principal.hub in set(participant_hubs):
            return cls(principal.hub, Standing.PARTICIPANT)
        return cls(principal.hub, Standing.OUTSIDER)

    @classmethod
    def participant(cls, hub: str) -> Audience:
        """The participant's own hub (a calendar followed by a signed link is read as the
        participant's hub reads it)."""
        return cls(hub, Standing.PARTICIPANT)

    @property
    def sees_all_pairs(self) -> bool:
        return self.standing in (Standing.ORGANISER, Standing.NETWORK)

    def own(self, attendee: Attendee) -> bool:
        return attendee.hub == self.hub

    def sees_organisation(self, attendee: Attendee) -> bool:
        """Whether the reader may see who the organisation is (its name)."""
        return (
            self.standing is Standing.NETWORK
            or self.own(attendee)
            or attendee.sharing is Sharing.NETWORK
        )

    def lists(self, attendee: Attendee) -> bool:
        """Whether the registration appears in the reader's list of registrations."""
        if self.standing is Standing.OUTSIDER:
            return False
        return self.standing is Standing.ORGANISER or self.sees_organisation(attendee)

    def sees_contact(self, attendee: Attendee) -> bool:
        """Participants' contacts are personal data: only for the organiser, and only of
        an organisation it may see."""
        return self.standing is Standing.ORGANISER and self.sees_organisation(attendee)

    def follows(self, attendee: Attendee) -> bool:
        """Whether the reader may read the participant's agenda and calendar."""
        return self.sees_all_pairs or self.own(attendee)

    def sees_pair(self, a: Attendee, b: Attendee) -> bool:
        """Whether the reader sees a request, suggestion or meeting between a and b (an
        outsider has no participant: it sees none)."""
        return self.sees_all_pairs or self.own(a) or self.own(b)

    def name(self, attendee: Attendee, name: str | None) -> str:
        """The organisation's name as the reader may see it."""
        if name is None or not self.sees_organisation(attendee):
            return WITHHELD
        return name
