"""Generate the JSON Schema of every message and an AsyncAPI 3.0 document from the models.

`make contracts` writes them to `contracts/`; a test checks the committed files are current,
so the documents are never written by hand twice.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from tandem_shared.contracts import (
    ALL_TOPICS,
    TOPIC_MESSAGES,
    Envelope,
    Scope,
    TopicSpec,
    message_type_name,
)

REF_TEMPLATE = "#/components/schemas/{model}"
HUB_PARAMETER = "hub-parameter"  # a valid hub id, replaced by AsyncAPI's `{hub}`
SCOPE_NOTES = {
    Scope.LOCAL: "Hub-local: never leaves the hub.",
    Scope.NETWORK: "Shared with every hub of the network: nothing personal.",
}


def channel_id(spec: TopicSpec, scope: Scope) -> str:
    """The AsyncAPI channel of a family's topics in `scope` (one per hub, by parameter)."""
    return spec.family if scope is Scope.LOCAL else f"{Scope.NETWORK.value}.{spec.family}"


def _all_message_classes() -> list[type[Envelope]]:
    return [cls for classes in TOPIC_MESSAGES.values() for cls in classes]


def json_schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema per message type, keyed by the CloudEvents type."""
    return {
        message_type_name(cls): cls.model_json_schema(mode="serialization")
        for cls in _all_message_classes()
    }


def asyncapi_document() -> dict[str, Any]:
    classes = _all_message_classes()
    _, definitions = models_json_schema(
        [(cls, "serialization") for cls in classes], ref_template=REF_TEMPLATE
    )
    schemas = definitions.get("$defs", {})
    messages = {
        cls.__name__: {
            "name": message_type_name(cls),
            "title": message_type_name(cls),
            "contentType": "application/json",
            "payload": {"$ref": REF_TEMPLATE.format(model=cls.__name__)},
        }
        for cls in classes
    }
    channels = {
        channel_id(spec, scope): {
            "address": spec.topic(HUB_PARAMETER, scope).replace(HUB_PARAMETER, "{hub}"),
            "description": f"{spec.description} Key: {spec.key}. Cleanup: {spec.cleanup}. "
            f"{SCOPE_NOTES[scope]}",
            "parameters": {"hub": {"description": "The one hub that writes this topic."}},
            "messages": {
                cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"}
                for cls in TOPIC_MESSAGES[spec.family]
            },
        }
        for spec in ALL_TOPICS
        for scope in spec.scopes()
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tandem message bus",
            "version": "1.0.0",
            "description": "Topics shared by Tandem's services and federated hubs.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def write_contracts(out_dir: Path) -> list[Path]:
    schema_dir = out_dir / "jsonschema"
    schema_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for type_name, schema in json_schemas().items():
        path = schema_dir / f"{type_name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    asyncapi = out_dir / "asyncapi.yaml"
    asyncapi.write_text(yaml.safe_dump(asyncapi_document(), sort_keys=True), encoding="utf-8")
    written.append(asyncapi)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("contracts"))
    args = parser.parse_args()
    for path in write_contracts(args.out):
        print(path)


if __name__ == "__main__":
    main()
