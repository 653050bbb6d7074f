"""The events service's own tables."""

from __future__ import annotations

from tandem_shared.bus.tables import define_bus_tables
from tandem_shared.db import new_metadata
from tandem_shared.directory import define_directory_table

metadata = new_metadata()
bus = define_bus_tables(metadata)
# Names and hubs of profiles, to show who registers and who meets whom.
directory = define_directory_table(metadata)
