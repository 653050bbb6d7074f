from tandem_registry.tables import metadata
from tandem_shared.migrations import run_env

run_env(metadata)
