"""The events service's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from tandem_shared.bus.consumer import Subscription
from tandem_shared.contracts import PROFILES, ProfileErased, ProfileUpserted
from tandem_shared.runtime import Runtime

from tandem_events import service


def subscriptions(_runtime: Runtime) -> Sequence[Subscription]:
    return [
        Subscription(
            name="profiles",
            topics=(PROFILES.name,),
            handlers={
                ProfileUpserted: service.on_profile_upserted,
                ProfileErased: service.on_profile_erased,
            },
        )
    ]
