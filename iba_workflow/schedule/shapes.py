"""Week shapes: what a participant's week of an intervention holds, beside her fixed
commitments — ``schedules/<definition>.yaml``. Until the definition language carries
group steps and weekly hours (issue 12, part 1), this is where the solver reads them."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
