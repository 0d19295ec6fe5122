from __future__ import annotations

from iba_workflow import paths
from iba_workflow.calendar import WorkingCalendar, calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import Definition, load_definition

DEFINITIONS_DIR = paths.PROJECT_ROOT / "definitions"
DEFINITION_IDS = [p.stem for p in iter_definition_files(DEFINITIONS_DIR)]
_cache: dict[str, Definition] = {}


def shipped(definition_id: str) -> Definition:
    if definition_id not in _cache:
        _cache[definition_id] = load_definition(DEFINITIONS_DIR / f"{definition_id}.yaml")
    return _cache[definition_id]


def calendar(d: Definition) -> WorkingCalendar:
    return calendar_for(d.municipality, paths.PROJECT_ROOT / "calendars")
