from tandem_events.tables import metadata
from tandem_shared.migrations import run_env

run_env(metadata)
