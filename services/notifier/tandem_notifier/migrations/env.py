from tandem_notifier.tables import metadata
from tandem_shared.migrations import run_env

run_env(metadata)
