"""docs/configuration.md is generated from the settings classes: it must be what the
generator prints today, every setting must say what it does, and the variable names it
documents must be the ones pydantic-settings reads."""

from __future__ import annotations

from functools import reduce

import pytest
from pydantic_settings import BaseSettings

from tandem_console.settings import ConsoleSettings
from tandem_events.settings import EventsSettings
from tandem_matcher.settings import MatcherSettings
from tandem_notifier.settings import NotifierSettings
from tandem_registry.settings import RegistrySettings
from tandem_tools.settings_doc import DOC_PATH, render, sections

pytestmark = pytest.mark.unit


def test_the_committed_configuration_doc_is_current() -> None:
    committed = DOC_PATH.read_text(encoding="utf-8")
    assert committed == render(), "docs/configuration.md is stale: run `make docs`"


def test_every_setting_says_what_it_does() -> None:
    silent = [row.env for _, rows in sections() for row in rows if not row.description.strip()]
    assert not silent, (
        f"settings without a description {silent}: give each a Field(description=...) or a "
        "comment right above it, then run `make docs`"
    )


def test_every_section_documents_at_least_one_setting() -> None:
    assert all(rows for _, rows in sections())


READS: list[tuple[type[BaseSettings], str, str, str]] = [
    (NotifierSettings, "TANDEM_HUB", "north", "hub"),
    (EventsSettings, "TANDEM_EVENTS_SCHEDULE_ATTEMPTS", "3", "schedule_attempts"),
    (RegistrySettings, "TANDEM_REGISTRY_CONSUMER_MAX_ATTEMPTS", "7", "consumer_max_attempts"),
    (MatcherSettings, "TANDEM_MATCHER_WEIGHTS__SECTOR", "0.2", "weights.sector"),
    (ConsoleSettings, "TANDEM_CONSOLE_TIMEZONE", "UTC", "timezone"),
    (ConsoleSettings, "TANDEM_LOG_LEVEL", "DEBUG", "log_level"),
]


@pytest.mark.parametrize(("settings", "env", "value", "attribute"), READS)
def test_a_documented_variable_is_the_one_the_settings_read(
    monkeypatch: pytest.MonkeyPatch,
    settings: type[BaseSettings],
    env: str,
    value: str,
    attribute: str,
) -> None:
    documented = {row.env for _, rows in sections() for row in rows}
    generic = env.replace("REGISTRY_", "<SERVICE>_", 1)
    assert env in documented or generic in documented
    monkeypatch.setenv(env, value)
    read: object = reduce(getattr, attribute.split("."), settings())
    assert str(read) == value
