from tandem_matcher.tables import metadata
from tandem_shared.migrations import run_env

run_env(metadata)
