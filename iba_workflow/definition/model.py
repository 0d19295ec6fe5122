"""The definition language: one pydantic model per construct.

A definition describes the lifecycle of one intervention (*indsats*). It names roles,
never people, and dates relative to anchors, never absolute days (except the
common start of a cohort). ``definitions/schema.json`` is generated from these models.

Structural rules live here (types, required keys, ranges). Rules that need the whole
definition (a role that exists, an anchor that resolves, no cycles) live in
:mod:`iba_workflow.definition.checks`, so that every problem is reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Ident = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=64),
    Field(description="An identifier: lower-case letters, digits and _, starting with a letter."),
]


def _pad_hour(value: object) -> object:
    """'9:30' means 09:30: a one-digit hour is padded (an unquoted 10:00 is text already)."""
    if isinstance(value, str) and len(value) == 4 and value[1] == ":" and value[0].isdigit():
        return "0" + value
    return value


LocalTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    BeforeValidator(_pad_hour),
    Field(description="A local (Europe/Copenhagen) time of day, HH:MM, e.g. '09:30'."),
]
Anchor = Annotated[
    str,
    StringConstraints(
        pattern=r"^(visitation|start|midway|end|(step|completion)\.[a-z][a-z0-9_]*)$"
    ),
    Field(
        description=(
            "What a date is measured from: visitation, start, midway, end, "
            "step.<id> (another step's planned date) or completion.<id> "
            "(when another step is completed; that step must be done first)."
        )
    ),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ShiftPolicy = Literal["next", "previous", "nearest"]
RecurrenceShiftPolicy = Literal["skip", "next", "previous", "nearest"]
Held = Literal["per_participant", "per_group"]
StepKind = Literal["meeting", "task", "attendance", "session", "measurement", "test", "evaluation"]


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- timing


class Offset(_Strict):
    """A distance in time. Give exactly one unit; negative values go backwards."""

    days: int | None = Field(None, ge=-3660, le=3660, description="Calendar days.")
    weeks: int | None = Field(None, ge=-520, le=520, description="Calendar weeks (7 days).")
    working_days: int | None = Field(
        None,
        ge=-2600,
        le=2600,
        description="Danish working days: weekends, public holidays and closing days skipped.",
    )

    @model_validator(mode="after")
    def _one_unit(self) -> Offset:
        given = [u for u in ("days", "weeks", "working_days") if getattr(self, u) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give exactly one of days, weeks or working_days, not {' and '.join(given)}"
            )
        return self

    @property
    def unit(self) -> str:
        for u in ("days", "weeks", "working_days"):
            if getattr(self, u) is not None:
                return u
        return "days"

    @property
    def amount(self) -> int:
        value = getattr(self, self.unit)
        return int(value) if value is not None else 0


class When(_Strict):
    """When a single step falls: an anchor, an offset from it, and what to do on a closed day."""

    anchor: Anchor = "start"
    offset: Offset = Field(default_factory=Offset)
    shift: ShiftPolicy = Field(
        "next",
        description="If the date is a weekend, public holiday or closing day: move to the "
        "next, previous or nearest working day.",
    )
    time: LocalTime | None = Field(None, description="Local start time, for meetings and tests.")


class Bound(_Strict):
    """A bound of a recurrence: an anchor and an offset (no shift or time: each occurrence
    is placed on its own weekday and handled by ``on_closed_day``)."""

    anchor: Anchor = "start"
    offset: Offset = Field(default_factory=Offset)


class Repeat(_Strict):
    """Weekly recurrence: every N weeks on given weekdays, between two anchors or N times."""

    every_weeks: int = Field(1, ge=1, le=52)
    weekdays: list[Weekday] = Field(
        default_factory=list,
        description="Weekdays the step falls on. Left out only on a step with 'own_days': "
        "then her own fixed commitment gives the days.",
    )
    start: Bound = Field(default_factory=Bound, description="First possible day (inclusive).")
    until: Bound | None = Field(None, description="Last possible day (inclusive).")
    count: int | None = Field(None, ge=1, le=520, description="At most this many occurrences.")
    time: LocalTime | None = None
    on_closed_day: RecurrenceShiftPolicy = Field(
        "skip",
        description="An occurrence on a public holiday or closing day is skipped (default) "
        "or moved.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Repeat:
        if self.until is None and self.count is None:
            raise ValueError("a repeat needs 'until' or 'count' (or both), or it never ends")
        return self


class Escalation(_Strict):
    """Who hears about an overdue task, and when."""

    after: Offset = Field(description="How long after the due date, usually in working_days.")
    to: Ident = Field(description="The role that is told.")


class OutcomeRef(_Strict):
    """A chosen outcome of another step: this step exists only on that branch."""

    step: Ident
    outcome: Ident


# --------------------------------------------------------------------------- outcomes


class Extension(_Strict):
    """An outcome that extends the course: a new period with its own midway and end."""

    weeks: int = Field(ge=1, le=104)
    replan: list[Ident] = Field(
        default_factory=list,
        description="Steps planned again inside the extension period (e.g. midway and "
        "final evaluation).",
    )


class Handover(_Strict):
    """A proposal to enrol the citizen in another intervention: a visitation there, which
    that intervention's coordinator decides (e.g. Sunde kvinder → Fagmentor)."""

    definition: Ident = Field(description="The id of the other definition.")
    note: str | None = Field(None, description="What the other coordinator should know.")


class Outcome(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    description: str | None = None
    assumption: str | None = Field(
        None, description="What this outcome assumes that the seed does not say (to confirm)."
    )
    ends: bool = Field(False, description="Choosing this outcome closes the enrollment.")
    proposes: Handover | None = Field(
        None, description="Propose a visitation in another intervention (a handover)."
    )
    extend: Extension | None = None
    stops: list[Ident] = Field(
        default_factory=list,
        description="Recurring steps that stop after this outcome (later occurrences dropped).",
    )

    @model_validator(mode="after")
    def _ends_or_extends(self) -> Outcome:
        if self.ends and self.extend is not None:
            raise ValueError("an outcome cannot both end the course and extend it")
        return self


# --------------------------------------------------------------------------- steps


class Scale(_Strict):
    min: float
    max: float
    labels: dict[str, str] | None = Field(
        None, description="Optional words for scale points, e.g. {'1': 'slet ikke'}."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"scale min ({self.min}) must be below max ({self.max})")
        return self


class Dimension(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    scale: Scale
    unit: str | None = None
    health: bool = Field(
        False,
        description="Health data (e.g. weight): recorded only with the citizen's consent "
        "(sundhedsloven § 15).",
    )


class _StepBase(_Strict):
    id: Ident
    name: str = Field(min_length=1, description="What a person reads, in Danish.")
    description: str | None = None
    seed_ref: str | None = Field(
        None, description="Which activity of the seed document this step models."
    )
    assignee: Ident = Field(description="The role that completes the step.")
    when: When | None = Field(None, description="Date of a single step. Not with 'repeat'.")
    repeat: Repeat | None = Field(None, description="Dates of a recurring step. Not with 'when'.")
    depends_on: list[Ident] = Field(
        default_factory=list, description="Steps that must be completed first."
    )
    only_after: OutcomeRef | None = Field(
        None, description="The step belongs to a branch: it exists only after this outcome."
    )
    reminders: list[Offset] | None = Field(
        None, description="Reminders before the due date. Omitted: the definition's defaults."
    )
    escalation: Escalation | Literal[False] | None = Field(
        None,
        description="Escalation when overdue. Omitted: the definition's default; false: none.",
    )
    template: Ident | None = Field(
        None, description="Mail template for the notification (templates/mail/<name>.*)."
    )
    assumption: str | None = Field(
        None,
        description="A value the seed does not give and the language needs (a weekday, a "
        "time, an offset), and why it was chosen: shown in the plan and on the task page, "
        "so a coordinator sees what to confirm.",
    )
    health: bool = Field(
        False,
        description="The step touches the citizen's health (training for weight loss, "
        "weighing, pain): it needs her consent on file (sundhedsloven § 15).",
    )
    follow_up: bool = Field(
        False,
        description="A follow-up after the course (efterfølgende): it may fall after the "
        "end, and an ending outcome does not remove it when it is on that outcome's branch.",
    )
    # --- week schedules (issue 12) ---
    held: Held = Field(
        "per_participant",
        description="per_participant (default): each enrollment has its own. per_group: "
        "held once for the group (a cohort, or everyone of a rolling intake enrolled that "
        "week): one occurrence with one invitation per staff member, attendance recorded "
        "per participant. With rolling intake a group step must repeat.",
    )
    own_days: Ident | None = Field(
        None,
        description="The participant's own fixed commitment with this label (e.g. "
        "sprogskole): her weekdays, entered at the visitation or later, not the "
        "definition's. Leave out 'repeat.weekdays'; until her days are known the step has "
        "no dates.",
    )
    around_own_days: bool = Field(
        False,
        description="Held around her own days: an occurrence that falls on one of her "
        "own_days weekdays moves to a weekday of the same week she has free.",
    )

    @property
    def outcomes_list(self) -> list[Outcome]:
        return list(getattr(self, "outcomes", []) or [])

    @property
    def requires_consent(self) -> bool:
        return self.health

    @property
    def attendee_roles(self) -> list[str]:
        return list(getattr(self, "attendees", []) or [])


class MeetingStep(_StepBase):
    kind: Literal["meeting"]
    attendees: list[Ident] = Field(min_length=1, description="Roles invited (never people).")
    citizen_attends: bool = True
    duration_minutes: int = Field(60, ge=5, le=600)
    place: str = Field(min_length=1)


class TaskStep(_StepBase):
    kind: Literal["task"]


class AttendanceStep(_StepBase):
    """An attendance list (e.g. the language centre's weekly absence list): one row per
    participant and day, filled in for the whole group at once."""

    kind: Literal["attendance"]


class SessionStep(_StepBase):
    kind: Literal["session"]
    duration_minutes: int = Field(ge=5, le=600)
    place: str = Field(min_length=1)


class MeasurementStep(_StepBase):
    kind: Literal["measurement"]
    dimensions: list[Dimension] = Field(min_length=1)

    @property
    def requires_consent(self) -> bool:
        return self.health or any(d.health for d in self.dimensions)


class TestStep(_StepBase):
    kind: Literal["test"]
    place: str | None = None
    duration_minutes: int | None = Field(None, ge=5, le=600)
    outcomes: list[Outcome] = Field(min_length=2)


class EvaluationStep(_StepBase):
    kind: Literal["evaluation"]
    attendees: list[Ident] = Field(
        default_factory=list, description="If given, the evaluation is also a meeting."
    )
    citizen_attends: bool = True
    duration_minutes: int | None = Field(None, ge=5, le=600)
    place: str | None = None
    outcomes: list[Outcome] = Field(min_length=1)


AnyStep = (
    MeetingStep
    | TaskStep
    | AttendanceStep
    | SessionStep
    | MeasurementStep
    | TestStep
    | EvaluationStep
)
Step = Annotated[AnyStep, Field(discriminator="kind")]
STEP_KINDS: tuple[str, ...] = (
    "meeting",
    "task",
    "attendance",
    "session",
    "measurement",
    "test",
    "evaluation",
)


# --------------------------------------------------------------------------- metadata


class HoursRange(_Strict):
    min: float = Field(ge=0, le=60)
    max: float = Field(ge=0, le=60)


class Duration(_Strict):
    """A fixed number of weeks, or a range with a default."""

    weeks: int | None = Field(None, ge=1, le=156)
    min_weeks: int | None = Field(None, ge=1, le=156)
    max_weeks: int | None = Field(None, ge=1, le=156)
    default_weeks: int | None = Field(None, ge=1, le=156)
    extendable_to_weeks: int | None = Field(
        None, ge=1, le=156, description="Extensions may not go beyond this many weeks in all."
    )

    @model_validator(mode="after")
    def _fixed_or_range(self) -> Duration:
        ranged = (self.min_weeks, self.max_weeks, self.default_weeks)
        if self.weeks is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either 'weeks' or 'min_weeks'/'max_weeks'/'default_weeks'")
        else:
            if any(v is None for v in ranged):
                raise ValueError(
                    "a duration needs 'weeks', or all of 'min_weeks', 'max_weeks' and "
                    "'default_weeks'"
                )
            lo, hi, default = ranged
            assert lo is not None and hi is not None and default is not None
            if not lo <= default <= hi:
                raise ValueError(f"default_weeks ({default}) must lie in {lo}..{hi}")
        if self.extendable_to_weeks is not None and self.extendable_to_weeks < self.longest:
            raise ValueError("extendable_to_weeks is shorter than the course itself")
        return self

    @property
    def default(self) -> int:
        return int(self.weeks if self.weeks is not None else self.default_weeks or 1)

    @property
    def shortest(self) -> int:
        return int(self.weeks if self.weeks is not None else self.min_weeks or 1)

    @property
    def longest(self) -> int:
        return int(self.weeks if self.weeks is not None else self.max_weeks or 1)


class Cohort(_Strict):
    id: Ident
    start: dt.date = Field(description="The common start date (fælles start).")
    dates: dict[Ident, dt.date] = Field(
        default_factory=dict,
        description="Absolute dates of single steps for this cohort, e.g. the VUC test day.",
    )


class RollingIntake(_Strict):
    kind: Literal["rolling"]
    lead: Offset = Field(
        default_factory=lambda: Offset(weeks=2),
        description="Usual time from visitation to start.",
    )


class CohortIntake(_Strict):
    kind: Literal["cohort"]
    lead: Offset = Field(default_factory=lambda: Offset(weeks=2))
    cohorts: list[Cohort] = Field(default_factory=list)


Intake = Annotated[RollingIntake | CohortIntake, Field(discriminator="kind")]


class Criterion(_Strict):
    id: Ident
    text: str = Field(min_length=1, description="The question asked at the visitation.")
    required: bool = True
    health: bool = Field(
        False,
        description="The answer is health data: recorded only with the citizen's consent.",
    )


class ChangeTrack(_Strict):
    """A *forandringsspor* from the project's theory of change (Realize)."""

    number: int = Field(ge=1, le=20)
    name: str = Field(min_length=1)


class Role(_Strict):
    id: Ident
    name: str = Field(min_length=1)
    external: bool = Field(False, description="Outside the job centre (company, VUC, ...).")
    description: str | None = None


class Defaults(_Strict):
    reminders: list[Offset] = Field(
        default_factory=lambda: [Offset(working_days=2)],
        description="Reminders before a due date, for steps that give none.",
    )
    escalation: Escalation | None = None


class Definition(_Strict):
    """One intervention (*indsats*): its facts, its roles and the steps of its lifecycle."""

    id: Ident
    name: str = Field(min_length=1)
    version: int = Field(ge=1, le=100000)
    municipality: Ident
    description: str = Field(min_length=1)
    seed: str = Field(min_length=1, description="The source document this is modelled on.")
    hours_per_week: float | HoursRange
    duration: Duration
    capacity: int = Field(ge=1, le=10000, description="Participants at a time.")
    min_participants: int | None = Field(None, ge=1, le=10000)
    intake: Intake
    eligibility: list[Criterion] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list,
        description="What the definition assumes as a whole that its seed does not say.",
    )
    change_tracks: list[ChangeTrack] = Field(default_factory=list)
    roles: list[Role] = Field(min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    steps: list[Step] = Field(min_length=1)

    def step(self, step_id: str) -> AnyStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def role(self, role_id: str) -> Role:
        for r in self.roles:
            if r.id == role_id:
                return r
        raise KeyError(role_id)
