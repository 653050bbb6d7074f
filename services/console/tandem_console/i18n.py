"""Languages: the catalogues (gettext `.po` files, compiled in memory by Babel when the app
starts, so a fresh clone needs no build step), choosing a locale from the browser's
Accept-Language, and formatting dates, times and numbers in the reader's locale."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
# English is the source language; the others have catalogues under locale/.
LANGUAGES: dict[str, str] = {"en": "English", "pl": "Polski", "de": "Deutsch", "sl": "Slovenščina"}
DEFAULT = "en"
MISSING = "\N{EN DASH}"  # what a figure that is not known yet shows


def load_translations(locale_dir: Path = LOCALE_DIR) -> dict[str, gettext.NullTranslations]:
    """Every language's catalogue, compiled from its `.po` file; English translates nothing."""
    loaded: dict[str, gettext.NullTranslations] = {DEFAULT: gettext.NullTranslations()}
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        path = locale_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        with path.open("rb") as po:
            catalog = read_po(po, locale=code)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        loaded[code] = Translations(fp=compiled, domain=DOMAIN)
    return loaded


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first (q=0 dropped,
    ties keep their order)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None, default: str = DEFAULT) -> str:
    """The first of our languages the browser accepts (`pl-PL` matches `pl`), else default."""
    for tag in parse_accept_language(header):
        if tag == "*":
            return default
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return default


@dataclass(frozen=True)
class Language:
    """What a page needs to speak one language: gettext and locale-aware formatters."""

    code: str
    translations: gettext.NullTranslations
    timezone: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.code)

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        text = self.translations.ngettext(singular, plural, count)
        return text % {"num": count, **values}

    def when(self, moment: datetime | str | None, zone: str | None = None) -> str:
        """A moment in `zone` (default: the console's zone) in this locale's medium format."""
        value = _moment(moment)
        if value is None:
            return ""
        local = value.astimezone(ZoneInfo(zone or self.timezone))
        # The locale's medium date and short time (no seconds), joined its way.
        joined = str(self.locale.datetime_formats["medium"]).replace("'", "")
        day = format_date(local, "medium", locale=self.code)
        return joined.replace("{1}", day).replace(
            "{0}", format_time(local, "short", locale=self.code)
        )

    def day(self, moment: datetime | str | None, zone: str | None = None) -> str:
        value = _moment(moment)
        if value is None:
            return ""
        return format_date(
            value.astimezone(ZoneInfo(zone or self.timezone)), "full", locale=self.code
        )

    def clock(self, moment: datetime | str | None, zone: str | None = None) -> str:
        value = _moment(moment)
        if value is None:
            return ""
        return format_time(value, "short", tzinfo=ZoneInfo(zone or self.timezone), locale=self.code)

    def percent(self, value: float | None) -> str:
        return MISSING if value is None else format_percent(value, locale=self.code)

    def number(self, value: float | None) -> str:
        return MISSING if value is None else format_decimal(value, locale=self.code)

    def helpers(self) -> Mapping[str, Callable[..., str] | str]:
        """The template globals of a page in this language."""
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "fmt_datetime": self.when,
            "fmt_date": self.day,
            "fmt_time": self.clock,
            "fmt_percent": self.percent,
            "fmt_number": self.number,
            "lang": self.code,
        }


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
