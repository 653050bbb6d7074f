"""Matcher use cases: keep the projection and the in-memory context current, rescore
incrementally, and publish match.suggested / match.updated / match.withdrawn through the
outbox; apply staff feedback and meeting outcomes; answer the API's reads.

- `context`: the in-memory index, standing scores and weights, loaded at start;
- `projection`: profiles, registrations and events from their topics;
- `rescoring`: one profile's pairs brought up to date with its scores;
- `writer`: match rows and messages staged and written together (the one publisher);
- `replicas`: the index lock and the journal that keep N replicas' state as one's;
- `feedback`: staff feedback, meeting outcomes, learning;
- `queries`: what the API reads.
"""

from tandem_matcher.service.context import MatcherContext, load, load_index, load_standing
from tandem_matcher.service.feedback import RecordedFeedback, on_meeting_outcome, record_feedback
from tandem_matcher.service.projection import (
    on_event,
    on_profile_erased,
    on_profile_upserted,
    on_registration,
)
from tandem_matcher.service.queries import (
    ListedMatch,
    WeightsView,
    matches_for,
    visible_match,
    weights_view,
)
from tandem_matcher.service.replicas import begin, catch_up, keep_up
from tandem_matcher.service.rescoring import apply_scores, rescore, score_block

__all__ = [
    "ListedMatch",
    "MatcherContext",
    "RecordedFeedback",
    "WeightsView",
    "apply_scores",
    "begin",
    "catch_up",
    "keep_up",
    "load",
    "load_index",
    "load_standing",
    "matches_for",
    "on_event",
    "on_meeting_outcome",
    "on_profile_erased",
    "on_profile_upserted",
    "on_registration",
    "record_feedback",
    "rescore",
    "score_block",
    "visible_match",
    "weights_view",
]
