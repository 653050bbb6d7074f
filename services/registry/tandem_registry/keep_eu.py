"""Reading the keep.eu export (the I/O edge of `domain.keep_eu`).

Data: keep.eu (https://www.keep.eu), Interreg 2014-2020 closed projects and partners;
credit keep.eu and link to it wherever this data is shipped or shown (its licence).

    data = load_keep_eu(Path("../shared/data/keep_eu"))
    for body in keep_eu_profiles(data): ...  # POST /v1/profiles bodies

A benchmark rebuilds one organisation's profile with a project held out:

    org = data.organisations[0]
    kept = [data.projects[k] for k in org.project_keys if k in data.projects and k != held_out]
    organisation_profile(org, kept)
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tandem_registry.domain.keep_eu import (
    KeepOrganisation,
    KeepProject,
    organisation_profile,
    organisations_from_partner_rows,
    project_from_row,
)

# Re-exported: a benchmark needs only this module.
__all__ = [
    "KeepEuData",
    "KeepOrganisation",
    "KeepProject",
    "keep_eu_profiles",
    "load_keep_eu",
    "organisation_profile",
]

PROJECTS_FILE = "keep1420_projects.csv"
PARTNERS_FILE = "keep1420_partners.csv"


@dataclass(frozen=True)
class KeepEuData:
    organisations: list[KeepOrganisation]
    projects: dict[str, KeepProject]  # by KeepProject.key, "<Programme>|<Acronym>"

    def projects_of(self, org: KeepOrganisation) -> list[KeepProject]:
        """The projects `org` took part in, in the partners file's order."""
        return [self.projects[key] for key in org.project_keys if key in self.projects]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        yield from csv.DictReader(file)


def load_keep_eu(data_dir: Path) -> KeepEuData:
    """Projects and deduplicated organisations from `data_dir`'s keep.eu CSV files."""
    projects: dict[str, KeepProject] = {}
    for row in _rows(data_dir / PROJECTS_FILE):
        project = project_from_row(row)
        projects.setdefault(project.key, project)
    organisations = organisations_from_partner_rows(_rows(data_dir / PARTNERS_FILE))
    return KeepEuData(organisations=organisations, projects=projects)


def keep_eu_profiles(data: KeepEuData) -> Iterator[dict[str, Any]]:
    """One POST /v1/profiles body per organisation."""
    for org in data.organisations:
        yield organisation_profile(org, data.projects_of(org))
