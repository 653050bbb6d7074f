"""The notifier's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import (
    MATCHES,
    PROFILES,
    MatchSuggested,
    MatchUpdated,
    ProfileErased,
    ProfileUpserted,
)
from tandem_shared.runtime import Runtime

from tandem_notifier import service


def subscriptions(_runtime: Runtime) -> Sequence[Subscription]:
    return [
        Subscription(
            name="profiles",
            topics=(PROFILES.name,),
            handlers={
                ProfileUpserted: service.on_profile_upserted,
                ProfileErased: service.on_profile_erased,
            },
        ),
        Subscription(
            name="matches",
            topics=(MATCHES.name,),
            handlers={MatchSuggested: service.on_match, MatchUpdated: service.on_match},
        ),
    ]
