"""The JSON Schema of the definition language, generated from the pydantic model."""

from __future__ import annotations

import json

from .model import Definition


def definition_schema() -> dict[str, object]:
    schema = Definition.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://iba-workflow.example.org/schema/definition.json"
    schema["title"] = "iba-workflow intervention definition"
    return schema


def schema_text() -> str:
    return json.dumps(definition_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
