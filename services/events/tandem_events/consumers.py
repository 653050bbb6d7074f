"""The events service's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from tandem_events.tables import directory
from tandem_shared.bus.consumer import Subscription
from tandem_shared.directory import directory_subscription
from tandem_shared.runtime import Runtime


def subscriptions(_runtime: Runtime) -> Sequence[Subscription]:
    return [directory_subscription(directory)]
