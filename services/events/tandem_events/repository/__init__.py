"""Database access for the events service, one module per sub-domain. Reads return typed
records (`tandem_events.domain`), writes return what they wrote (RETURNING), and every
write to what the scheduler reads bumps the event's schedule revision (`revision`).
Never commits: the edge owns the transaction."""
