"""What the matcher knows of a pair besides its score: the status of its match and the
relation between its two organisations (pure)."""

from __future__ import annotations

from enum import StrEnum


class MatchStatus(StrEnum):
    """A rescore may update or withdraw a `suggested` pair; `accepted` and `partners`
    pairs are shown but never withdrawn by a rescore; `declined` and `withdrawn` pairs are
    history, not shown."""

    SUGGESTED = "suggested"
    ACCEPTED = "accepted"
    PARTNERS = "partners"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


# The statuses a profile's match list shows.
LISTED = (MatchStatus.SUGGESTED, MatchStatus.ACCEPTED, MatchStatus.PARTNERS)
# The statuses a staff "accepted" keeps as they are (it accepts only a suggestion).
STICKY = (MatchStatus.ACCEPTED, MatchStatus.PARTNERS, MatchStatus.DECLINED)


class Relation(StrEnum):
    """A pair fact beyond scores: `declined` pairs are never suggested again; `partners`
    (met or agreed) are shown as such but never suggested anew."""

    DECLINED = "declined"
    PARTNERS = "partners"
