"""Write docs/configuration.md from the settings classes, so the reference cannot drift
from the code: `python -m tandem_tools.settings_doc > docs/configuration.md` (`make docs`).

Each setting's text is its `Field(description=...)`, else the comment block right above
its line in the class that declares it (the settings modules document their fields that
way), else the docstring of a nested settings model. `tests/unit/test_settings_doc.py`
fails when the committed file differs from what this prints.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from tandem_console.settings import ConsoleSettings
from tandem_events.settings import EventsSettings
from tandem_matcher.settings import MatcherSettings
from tandem_notifier.settings import NotifierSettings
from tandem_registry.settings import RegistrySettings
from tandem_shared.settings import ServiceSettings

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

SERVICES: tuple[type[ServiceSettings], ...] = (
    RegistrySettings,
    MatcherSettings,
    EventsSettings,
    NotifierSettings,
)


@dataclass(frozen=True)
class Setting:
    env: str
    type: str
    default: str
    description: str


# ------------------------------------------------------------------------------ one field


def env_name(settings: type[BaseSettings], name: str, info: FieldInfo) -> str:
    """The environment variable pydantic-settings reads the field from."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    return f"{settings.model_config.get('env_prefix', '')}{name}".upper()


def is_common(info: FieldInfo) -> bool:
    """Read from an alias (`TANDEM_HUB`), the same for every service, not under a prefix."""
    return info.validation_alias is not None


def type_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        named = [type_text(a) for a in args if a is not type(None)]
        return " \\| ".join(named) + (" or unset" if type(None) in args else "")
    if origin is list:
        return f"JSON list of {type_text(args[0])}"
    if origin is dict:
        return "JSON object"
    if annotation is SecretStr:
        return "secret"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return "JSON object"
    return getattr(annotation, "__name__", str(annotation))


_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


def bounds_text(info: FieldInfo) -> str:
    parts: list[str] = []
    for item in info.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, attr)}")
        if isinstance(item, annotated_types.MinLen) and item.min_length > 1:
            parts.append(f"length ≥ {item.min_length}")
        if isinstance(item, annotated_types.MaxLen):
            parts.append(f"length ≤ {item.max_length}")
    return ", ".join(parts)


def default_value(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def default_text(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "a development value"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, BaseModel):
        return "the rows below"
    if value == "":
        return "empty"
    return f"`{value}`"


def comment_above(owner: type, name: str) -> str:
    """The `#` comment block directly above `name`'s declaration in `owner`'s source."""
    try:
        lines, _ = inspect.getsourcelines(owner)
    except (OSError, TypeError):
        return ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(f"{name}:"):
            block: list[str] = []
            for above in reversed(lines[:index]):
                text = above.strip()
                if not text.startswith("#"):
                    break
                block.insert(0, text.lstrip("#").strip())
            return " ".join(block)
    return ""


def describe(settings: type[BaseModel], name: str) -> str:
    """The field's description, looked up from the class that declares it down to its bases
    (a subclass that only overrides a default keeps its base's description)."""
    for owner in settings.__mro__:
        if not (isinstance(owner, type) and issubclass(owner, BaseModel)):
            continue
        if name not in inspect.get_annotations(owner):
            continue
        info = owner.model_fields[name]
        text = info.description or comment_above(owner, name)
        if text:
            return text
    annotation = settings.model_fields[name].annotation
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return inspect.cleandoc(annotation.__doc__ or "").replace("\n", " ")
    return ""


def setting(settings: type[BaseSettings], name: str, info: FieldInfo) -> Setting:
    kind = type_text(info.annotation)
    limits = bounds_text(info)
    return Setting(
        env=env_name(settings, name, info),
        type=f"{kind}, {limits}" if limits else kind,
        default=default_text(default_value(info)),
        description=describe(settings, name),
    )


def nested(settings: type[BaseSettings], name: str, info: FieldInfo) -> Iterator[Setting]:
    """A nested model's own fields, each its own variable when the class sets a delimiter
    (`TANDEM_MATCHER_WEIGHTS__SECTOR`)."""
    model = info.annotation
    delimiter = settings.model_config.get("env_nested_delimiter")
    if not (inspect.isclass(model) and issubclass(model, BaseModel) and delimiter):
        return
    parent = env_name(settings, name, info)
    for child, child_info in model.model_fields.items():
        yield Setting(
            env=f"{parent}{delimiter}{child.upper()}",
            type=type_text(child_info.annotation) + _bounds_suffix(child_info),
            default=default_text(default_value(child_info)),
            description=describe(model, child),
        )


def _bounds_suffix(info: FieldInfo) -> str:
    limits = bounds_text(info)
    return f", {limits}" if limits else ""


def settings_of(settings: type[BaseSettings], names: list[str] | None = None) -> Iterator[Setting]:
    for name, info in settings.model_fields.items():
        if names is not None and name not in names:
            continue
        yield setting(settings, name, info)
        yield from nested(settings, name, info)


# ------------------------------------------------------------------------------ the document


def own_fields(service: type[ServiceSettings]) -> list[str]:
    """The fields a service adds, or whose default it changes, beyond `ServiceSettings`."""
    base = ServiceSettings.model_fields
    return [
        name
        for name, info in service.model_fields.items()
        if name not in base or default_value(info) != default_value(base[name])
    ]


def table(rows: list[Setting]) -> list[str]:
    lines = ["| env var | type | default | meaning |", "|---|---|---|---|"]
    for row in rows:
        text = row.description.replace("|", "\\|")
        lines.append(f"| `{row.env}` | {row.type} | {row.default} | {text} |")
    return lines


def common_names(*, aliased: bool) -> list[str]:
    return [n for n, i in ServiceSettings.model_fields.items() if is_common(i) == aliased]


def per_service_rows() -> Iterator[Setting]:
    """`ServiceSettings`' prefixed fields, written once with `<SERVICE>` for the prefix."""
    for row in settings_of(ServiceSettings, common_names(aliased=False)):
        yield Setting(
            env=f"TANDEM_<SERVICE>_{row.env}",
            type=row.type,
            default=row.default,
            description=row.description,
        )


INTRO = """\
# Configuration

<!-- Generated by `python -m tandem_tools.settings_doc` (`make docs`) from the settings
classes; do not edit by hand. tests/unit/test_settings_doc.py fails when it is stale. -->

Every setting is an environment variable read by a pydantic-settings class when a service
starts (in its lifespan, never at import time). A value pydantic refuses stops the service
with a message naming the setting. `TANDEM_ENVIRONMENT=prod` refuses the development defaults of the
secrets, keys and public URLs ([what production refuses](operations.md#what-production-refuses)).
The variables that only `make run` reads are in [operations.md](operations.md#make-run);
the trusted issuers' JSON is described in [identity.md](identity.md)."""


def sections() -> Iterator[tuple[str, list[Setting]]]:
    """Each section's heading and intro, with its rows."""
    yield (
        "## Every service\n\n`ServiceSettings` (`shared/tandem_shared/settings.py`): the same "
        "variable for every service of a deployment.",
        list(settings_of(ServiceSettings, common_names(aliased=True))),
    )
    yield (
        "## Every service, set per service\n\nAlso from `ServiceSettings`, read under each "
        "service's prefix: `<SERVICE>` is `REGISTRY`, `MATCHER`, `EVENTS` or `NOTIFIER` "
        "(for example `TANDEM_EVENTS_CONSUMER_MAX_ATTEMPTS`). Defaults a service changes are "
        "in its own section.",
        list(per_service_rows()),
    )
    for service in SERVICES:
        path = inspect.getfile(service).split("services/")[-1]
        yield (
            f"## {service.__name__.removesuffix('Settings')}\n\n`services/{path}`",
            list(settings_of(service, own_fields(service))),
        )
    yield (
        "## Console\n\n`ConsoleSettings` (`services/console/tandem_console/settings.py`); "
        "it shares `TANDEM_ENVIRONMENT` and the log settings with the services.",
        list(settings_of(ConsoleSettings)),
    )


def render() -> str:
    parts = [INTRO]
    for heading, rows in sections():
        parts += [heading, "\n".join(table(rows))]
    return "\n\n".join(parts) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
