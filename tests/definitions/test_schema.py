"""definitions/schema.json is generated from the model; a stale copy fails here."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ruamel.yaml import YAML

from iba_workflow import paths
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition.schema import schema_text

SCHEMA_FILE = paths.PROJECT_ROOT / "definitions" / "schema.json"


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "definitions/schema.json is stale: run 'iba schema --write'"
    )


@pytest.mark.parametrize(
    "path", iter_definition_files(paths.PROJECT_ROOT / "definitions"), ids=lambda p: p.stem
)
def test_every_definition_passes_the_json_schema(path) -> None:  # type: ignore[no-untyped-def]
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    # The schema describes JSON: dates are strings there.
    data = json.loads(json.dumps(data, default=str))
    jsonschema.validate(data, json.loads(schema_text()))


def test_schema_rejects_an_unknown_key_as_an_editor_would() -> None:
    schema = json.loads(schema_text())
    data = YAML(typ="safe", pure=True).load(
        (paths.PROJECT_ROOT / "definitions" / "fagmentor.yaml").read_text(encoding="utf-8")
    )
    data = json.loads(json.dumps(data, default=str))
    data["capacty"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
