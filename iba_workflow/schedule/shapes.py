"""Week shapes: what a participant's week of an intervention holds, beside her fixed
commitments — ``schedules/<definition>.yaml`` (hours, activities, talks) plus the
definition's group steps (``held: per_group`` with a duration), which
:func:`week_shape` adds as group sessions."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from iba_workflow.definition.model import Definition
from iba_workflow.paths import PROJECT_ROOT

from .model import Activity, ScheduleError, TimeRange


class ActivityShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    block_minutes: int = Field(gt=0)
    minutes: int = Field(0, ge=0)
    fill: bool = False

    def to_activity(self) -> Activity:
        return Activity(self.id, self.name, self.block_minutes, self.minutes, self.fill)


class SessionShape(BaseModel):
    """Held once a week for the group (a cohort, or everyone enrolled in a rolling one)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    minutes: int = Field(gt=0)
    staff_roles: list[str] = Field(default_factory=list)
    per_week: int = Field(1, ge=1, le=5)
    every_weeks: int = Field(1, ge=1, le=52)


class TalkShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    minutes: int = Field(gt=0)
    staff_role: str
    per_week: int = Field(1, ge=1, le=5)


class WeekShape(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: str
    opening: str
    slot_minutes: int = Field(30, ge=5, le=120)
    target_hours: float = Field(gt=0, le=60)
    activities: list[ActivityShape] = Field(default_factory=list)
    sessions: list[SessionShape] = Field(default_factory=list)
    talks: list[TalkShape] = Field(default_factory=list)

    @field_validator("opening")
    @classmethod
    def _opening(cls, value: str) -> str:
        TimeRange.parse(value)
        return value

    @property
    def opening_hours(self) -> TimeRange:
        return TimeRange.parse(self.opening)

    @property
    def target_minutes(self) -> int:
        return round(self.target_hours * 60)


def schedules_dir() -> Path:
    return Path(os.environ.get("IBA_SCHEDULES_DIR") or PROJECT_ROOT / "schedules")


def load_shape(definition_id: str, folder: Path | None = None) -> WeekShape:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = (folder or schedules_dir()) / f"{definition_id}.yaml"
    if not path.exists():
        raise ScheduleError(
            f"no week shape for {definition_id}",
            hint=f"write schedules/{definition_id}.yaml (see docs/schedule.md)",
        )
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        return WeekShape.model_validate(data)
    except YAMLError as exc:
        raise ScheduleError(f"{path.name} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScheduleError(
            f"{path.name}: {where}: {first['msg']}", hint="see docs/schedule.md"
        ) from None


def group_sessions(d: Definition) -> list[SessionShape]:
    """The definition's group steps that take time (``held: per_group`` with a duration)
    as group sessions: held for every member enrolled in the group's weeks (every
    ``repeat.every_weeks``), with the staff of the attendee roles inside the job centre."""
    out = []
    for s in d.steps:
        minutes = getattr(s, "duration_minutes", None)
        if s.held != "per_group" or not minutes:
            continue
        roles = [
            r for r in dict.fromkeys([s.assignee, *s.attendee_roles]) if not d.role(r).external
        ]
        out.append(
            SessionShape(
                id=s.id,
                name=s.name,
                minutes=minutes,
                staff_roles=roles,
                every_weeks=s.repeat.every_weeks if s.repeat else 1,
            )
        )
    return out


def week_shape(definition_id: str, folder: Path | None = None) -> WeekShape:
    """The shipped week shape with the shipped definition's group steps added (a session
    of the shape with the same id wins)."""
    from iba_workflow.definition import load_definition

    shape = load_shape(definition_id, folder)
    path = PROJECT_ROOT / "definitions" / f"{definition_id}.yaml"
    if not path.exists():
        return shape
    have = {s.id for s in shape.sessions}
    extra = [s for s in group_sessions(load_definition(path)) if s.id not in have]
    return shape.model_copy(update={"sessions": [*shape.sessions, *extra]})
