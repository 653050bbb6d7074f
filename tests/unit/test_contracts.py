"""The message contracts: every message type round-trips through its wire form, the parser
rejects what is not a message, consumers tolerate additive fields, and the generated JSON
Schemas / AsyncAPI document in `contracts/` are exactly what the models produce today."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from tandem_shared.contracts import (
    ALL_TOPICS,
    MATCHES,
    PROFILES,
    TOPIC_MESSAGES,
    Envelope,
    Message,
    ProfileData,
    RegistrationCreated,
    Scope,
    Sharing,
    TopicOwner,
    TopicSpec,
    dead_letter_topic,
    hub_topics,
    message_type_name,
    moved_hub_problem,
    network_profile,
    pair_id,
    parse_message,
    provenance_problem,
    subscription_pattern,
    topic_name,
    topic_owner,
)
from tandem_shared.contracts_export import (
    asyncapi_document,
    channel_id,
    json_schemas,
    write_contracts,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "contracts"

A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
EVENT = uuid.UUID("00000000-0000-4000-8000-0000000000e0")
WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
LATER = WHEN + timedelta(hours=2)

_PROFILE = {
    "id": str(A),
    "hub": "demo",
    "version": 3,
    "name": "Muzeum Śląskie",
    "kind": "heritage",
    "subsectors": ["museum"],
    "description": "A museum.",
    "offers": [{"text": "3D scanning of collections", "tags": ["3d"], "language": "en"}],
    "needs": [{"text": "AR storytelling"}],
    "looking_for": ["creative", "industry"],
    "languages": ["pl", "en"],
    "country": "PL",
    "region": "PL22",
    "city": "Katowice",
    "website": "https://example.org",
    "sharing": "network",
    "updated_at": WHEN.isoformat(),
}
_EVENT = {
    "id": str(EVENT),
    "hub": "demo",
    "version": 1,
    "title": "World café",
    "kind": "world_cafe",
    "starts_at": WHEN.isoformat(),
    "ends_at": LATER.isoformat(),
    "timezone": "Europe/Warsaw",
    "online": False,
    "venue": "Hall A",
    "languages": ["pl"],
    "sectors": ["heritage"],
}
_REGISTRATION = {
    "id": str(B),
    "event_id": str(EVENT),
    "profile_id": str(A),
    "hub": "demo",
    "version": 1,
}
_PAIR = {
    "pair_id": pair_id(A, B),
    "profile_a": str(A),
    "profile_b": str(B),
    "hub_a": "demo",
    "hub_b": "other",
    "version": 2,
}
_MATCH = {
    **_PAIR,
    "score": 0.73,
    "components": {"reciprocal": 0.8, "language": 1.0},
    "explanation": {
        "summary": "A needs AR ↔ B offers AR",
        "a_needs_b_offers": {"need": "AR storytelling", "offer": "AR apps", "similarity": 0.81},
        "b_needs_a_offers": None,
    },
    "event_id": str(EVENT),
}
_MEETING = {
    "id": str(B),
    "event_id": str(EVENT),
    "version": 1,
    "profile_a": str(A),
    "profile_b": str(B),
    "hub": "pl-podkarpackie",
    "event_title": "Culture and Creative Winter Market",
    "timezone": "Europe/Warsaw",
    "hub_a": "pl-podkarpackie",
    "hub_b": "de-sachsen",
    "starts_at": WHEN.isoformat(),
    "ends_at": LATER.isoformat(),
}

# One representative payload per CloudEvents type; a new message type without a sample
# fails `test_every_message_type_has_a_sample`.
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "profile.upserted": _PROFILE,
    "profile.erased": {"id": str(A), "hub": "demo", "version": 4, "erased_at": WHEN.isoformat()},
    "event.scheduled": _EVENT,
    "event.updated": {**_EVENT, "version": 2, "online": True, "venue": None},
    "event.cancelled": {"id": str(EVENT), "hub": "demo", "version": 3, "reason": "storm"},
    "registration.created": _REGISTRATION,
    "registration.withdrawn": {**_REGISTRATION, "version": 2},
    "match.suggested": _MATCH,
    "match.updated": {**_MATCH, "version": 3, "score": 0.5, "event_id": None},
    "match.withdrawn": {**_PAIR, "reason": "score fell below the threshold"},
    "meeting.scheduled": {
        **_MEETING,
        "table": "7",
        "location": "Hala Targowa, Rzeszów",
    },
    "meeting.cancelled": {**_MEETING, "version": 2, "reason": "ill"},
    "meeting.outcome_recorded": {
        "id": str(B),
        "event_id": str(EVENT),
        "version": 3,
        "pair_id": pair_id(A, B),
        "outcome": "agreement",
        "rating": 5,
    },
}

MESSAGE_CLASSES: list[type[Envelope]] = list(get_args(get_args(Message)[0]))
BY_TYPE = {message_type_name(cls): cls for cls in MESSAGE_CLASSES}
per_type = pytest.mark.parametrize("type_name", sorted(BY_TYPE))


def envelope(type_name: str, data: Any = None, **overrides: Any) -> dict[str, Any]:
    """The wire form (a JSON-able dict) of one message."""
    raw: dict[str, Any] = {
        "id": "11111111-1111-4111-8111-111111111111",
        "source": "/tandem/test/demo",
        "specversion": "1.0",
        "time": WHEN.isoformat(),
        "subject": str(A),
        "hub": "demo",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "datacontenttype": "application/json",
        "type": type_name,
        "data": SAMPLE_DATA[type_name] if data is None else data,
    }
    raw.update(overrides)
    return raw


def sample(type_name: str) -> Envelope:
    return BY_TYPE[type_name].model_validate(envelope(type_name))


# ------------------------------------------------------------------------------ round trips


def test_every_message_type_has_a_sample() -> None:
    assert set(SAMPLE_DATA) == set(BY_TYPE)


def test_message_type_names_are_unique() -> None:
    assert len(BY_TYPE) == len(MESSAGE_CLASSES)


@per_type
def test_round_trip_through_json(type_name: str) -> None:
    message = sample(type_name)
    parsed = parse_message(message.model_dump_json())
    assert type(parsed) is BY_TYPE[type_name]
    assert parsed == message
    assert parsed.model_dump(mode="json") == message.model_dump(mode="json")


@per_type
def test_parse_accepts_bytes(type_name: str) -> None:
    message = sample(type_name)
    assert parse_message(message.model_dump_json().encode()) == message


def test_envelope_defaults_are_cloudevents_attributes() -> None:
    message = BY_TYPE["registration.created"](
        source="/tandem/test/demo", subject=str(A), hub="demo", data=_REGISTRATION
    )
    wire = json.loads(message.model_dump_json())
    assert wire["specversion"] == "1.0"
    assert wire["datacontenttype"] == "application/json"
    assert wire["type"] == "registration.created"
    assert uuid.UUID(wire["id"]).version == 4
    assert datetime.fromisoformat(wire["time"]).tzinfo is not None


# ------------------------------------------------------------------------------ rejection


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


REJECTED = {
    "unknown type": envelope("profile.upserted", type="profile.exploded"),
    "missing type": _without(envelope("profile.upserted"), "type"),
    "missing data": _without(envelope("profile.upserted"), "data"),
    "data is a string": envelope("profile.upserted", data="hello"),
    "data of another type": envelope("profile.erased", data=_PROFILE),
    "data missing a field": envelope("profile.upserted", data=_without(_PROFILE, "country")),
    "version below 1": envelope("profile.upserted", data={**_PROFILE, "version": 0}),
    "unknown enum value": envelope("profile.upserted", data={**_PROFILE, "kind": "alien"}),
    "score above 1": envelope("match.suggested", data={**_MATCH, "score": 1.5}),
    "rating above 5": envelope(
        "meeting.outcome_recorded",
        data={**SAMPLE_DATA["meeting.outcome_recorded"], "rating": 6},
    ),
    "wrong specversion": envelope("profile.upserted", specversion="0.3"),
    "missing hub": _without(envelope("profile.upserted"), "hub"),
    "bad uuid": envelope("profile.upserted", data={**_PROFILE, "id": "not-a-uuid"}),
}


@pytest.mark.parametrize("raw", REJECTED.values(), ids=REJECTED.keys())
def test_parse_rejects_non_messages(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_message(json.dumps(raw))


@pytest.mark.parametrize("raw", ["", "not json", "[]", "null", '{"type": "profile.upserted"'])
def test_parse_rejects_non_json_objects(raw: str) -> None:
    with pytest.raises(ValidationError):
        parse_message(raw)


@per_type
def test_unknown_fields_are_ignored(type_name: str) -> None:
    """Additive evolution: a newer producer's extra fields do not break an older consumer."""
    data = {**SAMPLE_DATA[type_name], "added_in_v1_1": {"nested": [1, 2]}}
    raw = envelope(type_name, data=data, partitionkey="x", newextension=42)
    parsed = parse_message(json.dumps(raw))
    assert parsed == sample(type_name)
    assert "added_in_v1_1" not in parsed.data.model_dump()


# ------------------------------------------------------------------------------ pair ids


@pytest.mark.parametrize(
    ("a", "b"),
    [(A, B), (B, A), (str(A), B), (A, str(B)), (str(B), str(A))],
)
def test_pair_id_is_order_independent_min_colon_max(a: uuid.UUID | str, b: uuid.UUID | str) -> None:
    assert pair_id(a, b) == pair_id(b, a) == f"{A}:{B}"


def test_pair_id_of_random_ids() -> None:
    ids = [uuid.UUID(int=n * 0x9E3779B97F4A7C15 % 2**128) for n in range(1, 40)]
    for a, b in itertools.pairwise(ids):
        first, second = pair_id(a, b).split(":")
        assert (first, second) == (min(str(a), str(b)), max(str(a), str(b)))
        assert pair_id(a, b) == pair_id(b, a)


# ------------------------------------------------------------------------------ topics


def test_topic_table_covers_exactly_the_declared_topics() -> None:
    assert set(TOPIC_MESSAGES) == {spec.family for spec in ALL_TOPICS}


def test_every_message_type_travels_on_exactly_one_topic() -> None:
    on_topics = [cls for classes in TOPIC_MESSAGES.values() for cls in classes]
    assert sorted(cls.__name__ for cls in on_topics) == sorted(c.__name__ for c in MESSAGE_CLASSES)


@pytest.mark.parametrize("spec", ALL_TOPICS, ids=lambda spec: spec.family)
@pytest.mark.parametrize("hub", ["north", "south-2"])
def test_every_topic_name_gives_back_its_one_writing_hub(spec: TopicSpec, hub: str) -> None:
    for scope in spec.scopes():
        name = spec.topic(hub, scope)
        assert name == topic_name(spec.family, hub, scope)
        assert topic_owner(name) == TopicOwner(hub=hub, family=spec.family, scope=scope)
        assert topic_owner("t1234." + name, "t1234.") == topic_owner(name)
        assert topic_owner(dead_letter_topic(name)) is None
    assert spec.topic(hub) == f"tandem.{hub}.{spec.family}.v1"


def test_only_profiles_have_a_network_topic() -> None:
    assert PROFILES.topic("north", Scope.NETWORK) == "tandem.network.north.profiles.v1"
    assert [spec.family for spec in ALL_TOPICS if spec.shared_with_network] == ["profiles"]


@pytest.mark.parametrize("hub", ["network", "North", "no.dots", "", "-lead"])
def test_a_hub_that_cannot_name_a_topic_is_refused(hub: str) -> None:
    with pytest.raises(ValueError, match="not a hub id"):
        topic_name("profiles", hub)


@pytest.mark.parametrize(
    "name",
    ["tandem.profiles.v1", "tandem.network.profiles.v1", "other.north.profiles.v1", "x"],
)
def test_names_that_are_no_hub_topic_have_no_owner(name: str) -> None:
    assert topic_owner(name) is None


def test_hub_topics_are_every_local_topic_and_the_shared_network_ones() -> None:
    names = [name for _, name in hub_topics("north")]
    assert names == [
        "tandem.north.profiles.v1",
        "tandem.network.north.profiles.v1",
        "tandem.north.events.v1",
        "tandem.north.registrations.v1",
        "tandem.north.matches.v1",
        "tandem.north.meetings.v1",
    ]


def test_a_consumer_reads_its_hubs_local_topics_and_other_hubs_network_topics() -> None:
    pattern = re.compile(subscription_pattern([PROFILES, MATCHES], ["north"], "p."))
    read = {
        "p.tandem.north.profiles.v1",
        "p.tandem.north.matches.v1",
        "p.tandem.network.south.profiles.v1",
        "p.tandem.network.hub-joining-later.profiles.v1",
    }
    unread = {
        "p.tandem.south.profiles.v1",  # another hub's local topic
        "p.tandem.network.north.profiles.v1",  # its own shares: the local topic has them
        "p.tandem.network.south.matches.v1",  # matches are never shared
        "p.tandem.north.events.v1",  # not subscribed
        "p.tandem.north.profiles.v1.dlq",
        "tandem.north.profiles.v1",  # another test run's (prefix)
    }
    assert {name for name in read | unread if pattern.match(name)} == read


def _on(name: str) -> TopicOwner:
    owner = topic_owner(name)
    assert owner is not None
    return owner


def test_provenance_accepts_a_message_only_from_its_own_hubs_topic() -> None:
    profile = sample("profile.upserted")
    assert profile.hub == "demo"
    assert provenance_problem(profile, _on("tandem.demo.profiles.v1")) is None
    assert provenance_problem(profile, _on("tandem.network.demo.profiles.v1")) is None
    wrong = provenance_problem(profile, _on("tandem.network.south.profiles.v1"))
    assert wrong == "envelope hub 'demo' does not own this topic (hub 'south' writes it)"
    elsewhere = provenance_problem(profile, _on("tandem.demo.matches.v1"))
    assert elsewhere == "a profile.upserted message does not travel on matches"


def test_provenance_checks_the_data_hub_as_well_as_the_envelopes() -> None:
    forged = envelope("profile.upserted", {**_PROFILE, "hub": "north"})
    message = parse_message(json.dumps(forged))  # envelope says demo, data says north
    problem = provenance_problem(message, _on("tandem.demo.profiles.v1"))
    assert problem == "data hub 'north' does not own this topic (hub 'demo' writes it)"


def test_a_registration_of_another_hubs_organisation_travels_on_the_events_hub() -> None:
    registration = sample("registration.created")
    assert isinstance(registration, RegistrationCreated) and registration.hub == "demo"
    foreign_org = registration.model_copy(
        update={"data": registration.data.model_copy(update={"hub": "south"})}
    )
    assert provenance_problem(foreign_org, _on("tandem.demo.registrations.v1")) is None
    problem = provenance_problem(foreign_org, _on("tandem.south.registrations.v1"))
    assert problem == "envelope hub 'demo' does not own this topic (hub 'south' writes it)"


def test_a_known_id_never_moves_to_another_hub() -> None:
    assert moved_hub_problem(A, None, "south") is None
    assert moved_hub_problem(A, "south", "south") is None
    assert moved_hub_problem(A, "north", "south") == (
        f"{A} belongs to hub 'north'; a message from hub 'south' may not move it"
    )


def test_only_network_shared_profiles_go_on_the_network_topic() -> None:
    shared = ProfileData.model_validate(_PROFILE)
    assert network_profile(shared) == shared
    assert network_profile(shared.model_copy(update={"sharing": Sharing.HUB})) is None


# ------------------------------------------------------------------------------ generated files


def _files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_committed_contracts_are_what_the_models_generate(tmp_path: Path) -> None:
    written = write_contracts(tmp_path)
    generated = _files_under(tmp_path)
    committed = _files_under(COMMITTED)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(generated)
    assert set(committed) == set(generated), "run `make contracts` and commit the result"
    stale = sorted(name for name in generated if committed[name] != generated[name])
    assert not stale, f"stale generated contracts {stale}: run `make contracts`"


def test_one_json_schema_per_message_type() -> None:
    assert set(json_schemas()) == set(BY_TYPE)


@per_type
def test_json_schema_is_valid_and_accepts_the_sample(type_name: str) -> None:
    schema = json.loads((COMMITTED / "jsonschema" / f"{type_name}.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(sample(type_name).model_dump(mode="json"))


@per_type
def test_json_schema_rejects_another_type(type_name: str) -> None:
    schema = json.loads((COMMITTED / "jsonschema" / f"{type_name}.json").read_text("utf-8"))
    other = next(name for name in sorted(BY_TYPE) if name != type_name)
    assert not Draft202012Validator(schema).is_valid(sample(other).model_dump(mode="json"))


# ------------------------------------------------------------------------------ AsyncAPI


@pytest.fixture(params=["generated", "committed"])
def asyncapi(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "generated":
        return asyncapi_document()
    loaded: dict[str, Any] = yaml.safe_load((COMMITTED / "asyncapi.yaml").read_text("utf-8"))
    return loaded


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {key} is not inside an object"
        assert key in node, f"{ref} does not resolve ({key} missing)"
        node = node[key]
    return node


def test_asyncapi_version_and_channels(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    expected = {channel_id(spec, scope) for spec in ALL_TOPICS for scope in spec.scopes()}
    assert set(asyncapi["channels"]) == expected
    assert asyncapi["channels"]["network.profiles"]["address"] == (
        "tandem.network.{hub}.profiles.v1"
    )
    for spec in ALL_TOPICS:
        channel = asyncapi["channels"][spec.family]
        assert channel["address"] == f"tandem.{{hub}}.{spec.family}.v1"
        assert set(channel["messages"]) == {cls.__name__ for cls in TOPIC_MESSAGES[spec.family]}


def test_asyncapi_refs_all_resolve(asyncapi: dict[str, Any]) -> None:
    refs = set(_refs(asyncapi))
    assert refs, "the document should reference its components"
    for ref in refs:
        assert isinstance(_resolve(asyncapi, ref), dict)


def test_asyncapi_channel_messages_carry_their_type(asyncapi: dict[str, Any]) -> None:
    for spec in ALL_TOPICS:
        for cls in TOPIC_MESSAGES[spec.family]:
            ref = asyncapi["channels"][spec.family]["messages"][cls.__name__]["$ref"]
            message = _resolve(asyncapi, ref)
            assert message["name"] == message_type_name(cls)
            payload = _resolve(asyncapi, message["payload"]["$ref"])
            assert payload["properties"]["type"]["const"] == message_type_name(cls)
