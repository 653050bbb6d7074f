"""keep.eu's rows as projects and deduplicated organisations (pure: rows come in as
mappings).

Organisations have no id there: the same organisation appears under slightly different
names, so it is keyed by its normalised name plus its country (`dedup_key`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class KeepProject:
    key: str  # "<Programme>|<Acronym>"
    programme: str
    acronym: str
    name: str
    themes: tuple[str, ...]
    description: str
    results: str
    tuning: bool  # zlib.crc32(Acronym.encode()) % 2 == 0: development split, else evaluation


@dataclass(frozen=True)
class KeepOrganisation:
    key: str  # dedup key: "<country>:<normalised name>"
    external_id: str  # "keep:<hash of key>"
    name: str
    country: str  # ISO 3166-1 alpha-2
    region: str | None  # NUTS code
    city: str | None
    website: str | None
    legal_status: str | None  # "public" | "private"
    department: str | None
    project_keys: tuple[str, ...] = field(default_factory=tuple)


def project_key(programme: str, acronym: str) -> str:
    return f"{programme.strip()}|{acronym.strip()}"


def is_tuning(acronym: str) -> bool:
    """The evaluation split of the data set: even CRC32 of the acronym is for tuning."""
    return zlib.crc32(acronym.encode()) % 2 == 0


# --------------------------------------------------------------------------- names

# Legal forms as token sequences after punctuation is removed ("z o.o." -> z o o); they are
# dropped only at the start or end of a name, where they are noise rather than meaning.
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    tuple(form.split())
    for form in (
        "sp z o o",
        "spol s r o",
        "z o o",
        "s r o",
        "sro",
        "e v",
        "ev",
        "ggmbh",
        "gmbh",
        "mbh",
        "co kg",
        "kg",
        "ag",
        "e g",
        "eg",
        "ltd",
        "limited",
        "plc",
        "inc",
        "llc",
        "s a",
        "sa",
        "s l",
        "sl",
        "s r l",
        "srl",
        "s p a",
        "spa",
        "scarl",
        "sarl",
        "sas",
        "onlus",
        "b v",
        "bv",
        "n v",
        "nv",
        "vzw",
        "asbl",
        "oy",
        "ab",
        "d o o",
        "doo",
        "d d",
        "a s",
        "as",
        "kft",
        "zrt",
        "nonprofit kft",
        "o p s",
        "z s",
        "z u",
        "uab",
        "ou",
        "sia",
        "jsc",
        "ad",
        "ood",
        "eood",
    )
)
_LEGAL_FORMS_LONGEST_FIRST = sorted(_LEGAL_FORMS, key=len, reverse=True)
_NOT_WORD = re.compile(r"[^\w]+")


def plain_tokens(text: str) -> list[str]:
    """Case-folded, accent-free words ("Muzeum Śląskie, e.V." -> muzeum slaskie e v)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [token for token in _NOT_WORD.split(plain.replace("_", " ")) if token]


def _strip_legal_forms(tokens: list[str]) -> list[str]:
    changed = True
    while changed and tokens:
        changed = False
        for form in _LEGAL_FORMS_LONGEST_FIRST:
            size = len(form)
            if len(tokens) > size and tuple(tokens[-size:]) == form:
                tokens, changed = tokens[:-size], True
                break
            if len(tokens) > size and tuple(tokens[:size]) == form:
                tokens, changed = tokens[size:], True
                break
    return tokens


def normalise_name(name: str) -> str:
    """The name for deduplication: case-folded, without accents, punctuation, legal-form
    noise ("e.V.", "gGmbH", "z o.o.", "s.r.o.", "Ltd", ...) or repeated spaces."""
    return " ".join(_strip_legal_forms(plain_tokens(name)))


def dedup_key(name: str, country: str) -> str:
    return f"{country.upper()}:{normalise_name(name)}"


def external_id(key: str) -> str:
    return "keep:" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]


# --------------------------------------------------------------------------- cells

# keep.eu writes Eurostat's country codes; the contract wants ISO 3166-1.
_EUROSTAT_TO_ISO = {"EL": "GR", "UK": "GB"}
_NUTS = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")
_URL = TypeAdapter(AnyHttpUrl)


def country_code(cell: str) -> str | None:
    """ "DE Germany / DEUTSCHLAND" -> "DE"."""
    code = cell.strip()[:2].upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        return None
    return _EUROSTAT_TO_ISO.get(code, code)


def nuts_code(*cells: str) -> str | None:
    """The most precise NUTS code of "DEG01  / Erfurt, Kreisfreie Stadt"-style cells."""
    for cell in cells:
        code = cell.split("/", 1)[0].strip().upper()
        if _NUTS.match(code):
            return code
    return None


def website(cell: str) -> str | None:
    """A valid http(s) URL or None ("www.x.eu" gets its scheme)."""
    text = cell.strip()
    if not text or " " in text:
        return None
    if not re.match(r"^https?://", text, re.IGNORECASE):
        text = "http://" + text
    try:
        url = str(_URL.validate_python(text))
    except ValidationError:
        return None
    host = urlsplit(url).hostname or ""
    return url if "." in host and len(url) <= 2048 else None


def website_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def _first(*cells: str | None) -> str:
    for cell in cells:
        if cell and cell.strip() and cell.strip() not in {"-", "n.a.", "n/a"}:
            return cell.strip()
    return ""


# --------------------------------------------------------------------------- rows


def project_from_row(row: Mapping[str, str]) -> KeepProject:
    """One row of keep1420_projects.csv."""
    acronym = row["Acronym"].strip()
    themes = tuple(
        dict.fromkeys(
            row[column].strip()
            for column in ("Thematic1", "Thematic2", "Thematic3")
            if row.get(column, "").strip()
        )
    )
    return KeepProject(
        key=project_key(row["Programme"], acronym),
        programme=row["Programme"].strip(),
        acronym=acronym,
        name=_first(
            row.get("Project Name"),
            row.get("Project Name language 2"),
            row.get("Project Name language 3"),
            acronym,
        ),
        themes=themes,
        description=_first(
            row.get("Description EN"), row.get("Description 1"), row.get("Description 2")
        ),
        results=_first(
            row.get("Expected Results EN"),
            row.get("Expected Results 1"),
            row.get("Expected Results 2"),
            row.get("Achievements EN"),
            row.get("Specific Obj"),
        ),
        tuning=is_tuning(acronym),
    )


def _common(values: Iterable[str | None]) -> str | None:
    """The most frequent non-empty value, the first seen winning ties."""
    counts = Counter(value for value in values if value)
    return counts.most_common(1)[0][0] if counts else None


def organisations_from_partner_rows(
    rows: Iterable[Mapping[str, str]], *, shared_host_limit: int = 3
) -> list[KeepOrganisation]:
    """Deduplicate keep1420_partners.csv rows (one per project and partner) into
    organisations, in order of first appearance. Rows without a name or country are
    skipped. A website host that several organisations give is a programme's site, not
    theirs (`shared_host_limit`), and is dropped."""
    groups: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        name = row.get("Project Partner", "").strip()
        country = country_code(row.get("Country code", ""))
        if not name or country is None or not normalise_name(name):
            continue
        groups.setdefault(dedup_key(name, country), []).append(row)
    sites = {
        key: _common(website(row.get("Website", "")) for row in group)
        for key, group in groups.items()
    }
    host_users = Counter(website_host(site) for site in sites.values() if site)
    return [
        _organisation(
            key,
            group,
            site if site and host_users[website_host(site)] < shared_host_limit else None,
        )
        for (key, group), site in zip(groups.items(), sites.values(), strict=True)
    ]


def _organisation(
    key: str, rows: Sequence[Mapping[str, str]], site: str | None
) -> KeepOrganisation:
    country = key.split(":", 1)[0]
    legal = _common(row.get("Legal Status", "").strip().lower() or None for row in rows)
    return KeepOrganisation(
        key=key,
        external_id=external_id(key),
        # keep.eu doubles some apostrophes ("de l''Environnement").
        name=cut(_common(_name(row["Project Partner"]) for row in rows) or "", 200),
        country=country,
        region=_common(
            nuts_code(
                row.get("NUTS3 (or equivalent)", ""),
                row.get("NUTS2 (or equivalent)", ""),
                row.get("NUTS1 (or equivalent)", ""),
            )
            for row in rows
        ),
        city=_city(_common(row.get("Town", "").strip() for row in rows)),
        website=site,
        legal_status=legal if legal in {"public", "private"} else None,
        department=_common(_first(row.get("Department")) or None for row in rows),
        project_keys=tuple(
            dict.fromkeys(project_key(row["Programme"], row["Acronym"]) for row in rows)
        ),
    )


def _name(cell: str) -> str:
    return cell.replace("''", "'").strip()


def _city(town: str | None) -> str | None:
    if not town:
        return None
    return cut(town.title() if town.isupper() else town, 100)
