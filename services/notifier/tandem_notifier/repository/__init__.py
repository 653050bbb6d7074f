"""Database access for the notifier, one module per sub-domain: the hubs' feeds, who hears
of what (directory, subscriptions, preferences), the events seen, and deliveries with the
hubs' webhooks. Never commits: the edge owns the transaction. Rows come back typed."""

from tandem_notifier.repository import deliveries, events, feed, recipients

__all__ = ["deliveries", "events", "feed", "recipients"]
