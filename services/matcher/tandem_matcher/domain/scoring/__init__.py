"""Reciprocal, explainable scoring (pure: numpy only, no I/O).

The score of a pair is a weighted sum of components, each in [0, 1]:
- `reciprocal` (`text`): the harmonic mean of s(A→B) and s(B→A), where s(A→B) is how well
  B's offers meet A's needs (the best cosine over need-offer pairs), so a one-sided fit
  ranks low;
- `sector`, `looking_for`, `language`, `geography` (`components`): the structured fit;
- `event` (`facts`): 1 if both are registered to the same upcoming event (not over, not
  cancelled).
Relations are flags, not weighted: `same_organisation` and `declined` pairs are never
suggested; `partners` (met or agreed) are kept as such but never suggested anew.

`VectorIndex` (`index`) holds every profile and scores one profile, or a block of them,
against all at once; `ScoreTable` (`table`) picks the candidates; `explanation` puts a
result in words and in pair order.
"""

from tandem_matcher.domain.scoring.explanation import PairExplanation, explain, in_pair_order
from tandem_matcher.domain.scoring.index import VectorIndex, score_candidates
from tandem_matcher.domain.scoring.model import (
    WEIGHTED,
    EventState,
    ProfileVectors,
    Scored,
    Vectors,
    Weights,
    may_match,
)
from tandem_matcher.domain.scoring.table import ScoreTable
from tandem_matcher.domain.scoring.text import harmonic

__all__ = [
    "WEIGHTED",
    "EventState",
    "PairExplanation",
    "ProfileVectors",
    "ScoreTable",
    "Scored",
    "VectorIndex",
    "Vectors",
    "Weights",
    "explain",
    "harmonic",
    "in_pair_order",
    "may_match",
    "score_candidates",
]
