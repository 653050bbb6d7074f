"""keep.eu organisations as registry profiles (pure: no I/O; rows come in as mappings).

keep.eu (https://www.keep.eu, run by Interact) publishes the Interreg projects and their
partners. Its licence lets us build on the data if we credit keep.eu, link to it and say
what we changed: every generated profile's description carries that credit.

- `records`: the CSV rows as projects and deduplicated organisations;
- `vocabulary`: the keywords and tables that classify an organisation;
- `profiles`: an organisation, described by its projects, as a `POST /v1/profiles` body.
"""

from tandem_registry.domain.keep_eu.profiles import (
    CREDIT,
    organisation_kind,
    organisation_profile,
    organisation_subsectors,
)
from tandem_registry.domain.keep_eu.records import (
    KeepOrganisation,
    KeepProject,
    dedup_key,
    normalise_name,
    organisations_from_partner_rows,
    project_from_row,
)

__all__ = [
    "CREDIT",
    "KeepOrganisation",
    "KeepProject",
    "dedup_key",
    "normalise_name",
    "organisation_kind",
    "organisation_profile",
    "organisation_subsectors",
    "organisations_from_partner_rows",
    "project_from_row",
]
