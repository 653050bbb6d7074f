"""The notifier's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import MATCHES, MatchSuggested, MatchUpdated
from tandem_shared.directory import directory_subscription
from tandem_shared.runtime import Runtime

from tandem_notifier import service
from tandem_notifier.tables import directory


def subscriptions(_runtime: Runtime) -> Sequence[Subscription]:
    return [
        directory_subscription(directory),
        Subscription(
            name="matches",
            topics=(MATCHES.name,),
            handlers={MatchSuggested: service.on_match, MatchUpdated: service.on_match},
        ),
    ]
