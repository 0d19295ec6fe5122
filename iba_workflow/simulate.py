"""Simulation: a whole lifecycle (or a cohort) in simulated time, on a real store, with
the same engine as production. The clock jumps from event to event; a scripted policy
completes the steps (default: on time, with the first outcome).

The runner keeps no state of its own: everything it needs is in the store, and every
step it takes is idempotent. So a run that crashed half-way is continued by running it
again on the same store — which is exactly how the crash-safety tests use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import Definition
from iba_workflow.definition.model import MeasurementStep
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    complete_step,
    enqueue_due_notifications,
    record_consent,
    record_visitation,
    register_citizen,
    replan,
)
from iba_workflow.engine.context import CalendarProvider
from iba_workflow.errors import InvalidInput
from iba_workflow.settings import Settings
from iba_workflow.store.outbox import claim_outbox_batch, mark_sent
from iba_workflow.store.rows import enrollment_steps, step_rows
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CitizenRow,
    ConsentRow,
    EnrollmentRow,
    StaffRow,
    VisitationRow,
)
from iba_workflow.store.work import committed

DAY_TIME = dt.time(8, 0)  # the day begins: due steps are announced
STEP_TIME = dt.timedelta(minutes=1)  # each completion a minute after the one before
DISPATCHER = "simulator"
MAX_EVENT_DAYS = 2000


class Pause(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")


class ParticipantScript(BaseModel):
    """What happens to one participant. Keys are step keys: 'evaluering@2', 'traening#3'."""

    model_config = ConfigDict(extra="forbid")
    outcomes: dict[str, str] = Field(default_factory=dict)
    late: dict[str, int] = Field(default_factory=dict, description="Working days late.")
    absent: list[str] = Field(default_factory=list, description="Sessions not attended.")
    pauses: list[Pause] = Field(default_factory=list, description="Sick leave.")
    exit: dt.date | None = None
    consent: bool = True


class SimulationScript(ParticipantScript):
    participants: int | None = Field(None, ge=1, le=500)
    cohort: str | None = None
    per_participant: dict[int, ParticipantScript] = Field(
        default_factory=dict, description="Overrides for participant 1, 2, ..."
    )

    def for_participant(self, number: int) -> ParticipantScript:
        fields = set(ParticipantScript.model_fields)
        extra = self.per_participant.get(number)
        # Validated again (not model_copy(update=...)), so that nested values such as a
        # participant's pauses stay models and are not left as plain dicts.
        merged = self.model_dump(include=fields, by_alias=True)
        if extra is not None:
            merged.update(extra.model_dump(exclude_unset=True, by_alias=True))
        return ParticipantScript.model_validate(merged)


def load_script(path: Path) -> SimulationScript:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
        return SimulationScript.model_validate(data)
    except (OSError, YAMLError) as exc:
        raise InvalidInput(f"cannot read the script {path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"script {path}: {where}: {first['msg']}",
            hint="keys: participants, cohort, outcomes, late, absent, pauses, exit, "
            "consent, per_participant",
        ) from None


#: an enrollment's open steps by date: what the simulation decides with
_OPEN = enrollment_steps(
    "id",
    "key",
    "step_id",
    "kind",
    "due_date",
    "depends_on",
    "reminders",
    "escalation_date",
    statuses=OPEN_STEP_STATUSES,
)


@dataclass
class Simulation:
    """One simulated run over a store; ``run`` may be called again after a crash."""

    open_session: Any  # () -> Session
    definition: Definition
    calendars: CalendarProvider
    start: dt.date
    script: SimulationScript = field(default_factory=SimulationScript)
    participants: int = 1
    prefix: str | None = None  # citizen references: PREFIX-001, ... (default SIM-<id>)
    shared_clock: FixedClock | None = None  # shared by the parts of a scenario (budget.py)
    #: What "the dispatcher" does at the end of each simulated day; default: route the
    #: outbox and mark every sendable row sent (no SMTP). budget.py sends real mail.
    deliver: Callable[[Session], None] | None = None
    settings: Settings = field(default_factory=lambda: Settings())

    def __post_init__(self) -> None:
        d = self.definition
        self.cohort = self.script.cohort
        if d.intake.kind == "cohort" and self.cohort is None:
            later = [c for c in d.intake.cohorts if c.start >= self.start]
            if not later:
                raise InvalidInput(f"'{d.id}' has no cohort starting on or after {self.start}")
            self.cohort = later[0].id
        cohort_start = next(
            (c.start for c in getattr(d.intake, "cohorts", []) if c.id == self.cohort), None
        )
        self.first_day = cohort_start or self.start
        cal = self.calendars(d.municipality)
        lead = d.intake.lead
        self.visit_day = (
            cal.add_working_days(self.first_day, -lead.amount)
            if lead.unit == "working_days"
            else cal.add_working_days(
                self.first_day
                - dt.timedelta(days=lead.amount * (7 if lead.unit == "weeks" else 1)),
                0,
            )
        )
        moved = cal.shift(self.visit_day, "previous")
        self.visit_day = moved.date if moved else self.visit_day
        self.clock: FixedClock = self.shared_clock or FixedClock(day_start(self.visit_day))
        self.ctx = EngineContext(
            clock=self.clock, calendars=self.calendars, actor="simulator", channel="simulation"
        )

    def ref(self, number: int) -> str:
        return f"{self.prefix or 'SIM-' + self.definition.id}-{number:03d}"

    def _engine(self, operation: Any, session: Session, **arguments: Any) -> Any:
        """One engine operation, one transaction: the simulator is the caller, so it
        commits (a resumed run continues from the last committed operation)."""
        with committed(session):
            return operation(session, self.ctx, **arguments)

    # ------------------------------------------------------------------ run

    def run(self) -> None:
        self.clock.set(day_start(self.visit_day))
        with self.open_session() as session:
            self.setup(session)
            today = self.visit_day
            for _ in range(MAX_EVENT_DAYS):
                self.process_day(session, today)
                self._drain(session)
                nxt = self.next_event(session, today)
                if nxt is None:
                    break
                today = nxt
                self.clock.set(day_start(today))
            self._drain_leftovers(session)

    def setup(self, session: Session) -> None:
        """Staff, citizens, consent and visitations (idempotent)."""
        d = self.definition
        have = {s.email for s in session.exec(select(StaffRow))}
        for role in d.roles:
            email = f"{role.id}@{d.municipality}.sim.invalid"
            if not role.external and email not in have:
                self._engine(
                    add_staff,
                    session,
                    name=f"Sim {role.name}",
                    email=email,
                    roles=[role.id],
                    municipality=d.municipality,
                )
        for number in range(1, self.participants + 1):
            ref = self.ref(number)
            citizen = session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).first()
            if citizen is None:
                self._engine(register_citizen, session, ref=ref, municipality=d.municipality)
                citizen = session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).one()
            # Each setup action is its own transaction: decide by what the store holds, so
            # a run that died between two of them does the missing one, and only that.
            wants_consent = self.script.for_participant(number).consent
            if (
                wants_consent
                and not session.exec(
                    select(ConsentRow.id).where(ConsentRow.citizen_id == citizen.id)
                ).first()
            ):
                self._engine(record_consent, session, citizen_ref=ref, given=True)
            seen = session.exec(
                select(VisitationRow).where(
                    VisitationRow.citizen_id == citizen.id, VisitationRow.definition_id == d.id
                )
            ).first()
            if seen is None:
                self._engine(
                    record_visitation,
                    session,
                    citizen_ref=ref,
                    definition=d,
                    accept=True,
                    answers={c.id: True for c in d.eligibility if wants_consent or not c.health},
                    start=None if self.cohort else self.first_day,
                    cohort=self.cohort,
                )

    def _participants(self, session: Session) -> list[tuple[EnrollmentRow, ParticipantScript]]:
        rows = session.exec(
            select(EnrollmentRow, CitizenRow.ref)
            .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
            .where(EnrollmentRow.definition_id == self.definition.id)
            .order_by(col(EnrollmentRow.id))
        ).all()
        found = []
        for enrollment, ref in rows:
            if self.prefix is not None and not ref.startswith(self.prefix + "-"):
                continue  # another part of a scenario on the same store
            number = int(ref.rsplit("-", 1)[1])
            found.append((enrollment, self.script.for_participant(number)))
        return found

    def process_day(self, session: Session, today: dt.date) -> None:
        """Pauses and exits of the day, what became due, and today's completions."""
        self.begin_day(session, today)
        self.complete_day(session, today)

    def begin_day(self, session: Session, today: dt.date, *, mark_due: bool = True) -> None:
        """Pauses and exits of the day, and (``mark_due``) what became due. A scenario of
        several parts on one store marks what became due once, after every part's pauses
        and exits, in its dispatcher's tick (budget.py): the question is about the whole
        store, and asked again by each part it found nothing new."""
        for enrollment, script in self._participants(session):
            if enrollment.status != "active":
                continue
            for pause in script.pauses:
                change = {
                    "kind": "pause",
                    "from": pause.first.isoformat(),
                    "to": pause.last.isoformat(),
                }
                if pause.first == today and change not in enrollment.adjustments:
                    self._engine(
                        replan,
                        session,
                        enrollment_id=enrollment.id or 0,
                        pause=(pause.first, pause.last),
                    )
            if script.exit == today:
                self._engine(replan, session, enrollment_id=enrollment.id or 0, exit_on=today)
        if mark_due:
            self._engine(enqueue_due_notifications, session)

    def complete_day(self, session: Session, today: dt.date) -> None:
        """What the participants and staff complete today, a minute apart."""
        for enrollment, script in self._participants(session):
            self._complete_due(session, enrollment, script, today)

    def _complete_due(
        self,
        session: Session,
        enrollment: EnrollmentRow,
        script: ParticipantScript,
        today: dt.date,
    ) -> None:
        """Complete what this participant does today, dependencies first; after each
        completion the plan may have changed, so look again."""
        while enrollment.status == "active":
            steps = self._open_steps(session, enrollment.id or 0)
            still_open = {s.key for s in steps}
            ready = [
                s
                for s in steps
                if self._completion_day(s, script) <= today
                and not still_open.intersection(s.depends_on)
            ]
            if not ready:
                return
            self.clock.advance(STEP_TIME)
            self._engine(
                complete_step,
                session,
                step_instance_id=ready[0].id or 0,
                **self._answer(session, ready[0], script),
            )

    def _open_steps(self, session: Session, enrollment_id: int) -> list[Any]:
        """The open steps' columns the simulation reads, as plain rows (no ORM objects:
        this is asked for every participant on every simulated day)."""
        return step_rows(session, _OPEN, enrollment_id)

    def _completion_day(self, step: Any, script: ParticipantScript) -> dt.date:
        late = script.late.get(step.key, 0)
        cal = self.calendars(self.definition.municipality)
        return cal.add_working_days(step.due_date, late) if late else step.due_date

    def _answer(self, session: Session, step: Any, script: ParticipantScript) -> dict[str, Any]:
        d = self.definition
        spec = d.step(step.step_id)
        outcome = script.outcomes.get(step.key)
        if outcome is None and spec.outcomes_list:
            outcome = spec.outcomes_list[0].id
        data: dict[str, Any] = {}
        if isinstance(spec, MeasurementStep):
            for dim in spec.dimensions:
                if not dim.health or script.consent:
                    data[dim.id] = (dim.scale.min + dim.scale.max) / 2
        elif step.kind == "session":
            data["present"] = "no" if step.key in script.absent else "yes"
        return {"outcome": outcome, "data": data}

    def next_event(self, session: Session, today: dt.date) -> dt.date | None:
        days: list[dt.date] = []
        for enrollment, script in self._participants(session):
            if enrollment.status != "active":
                continue
            days += [p.first for p in script.pauses if p.first > today]
            if script.exit and script.exit > today:
                days.append(script.exit)
            for step in self._open_steps(session, enrollment.id or 0):
                days.append(self._completion_day(step, script))
                days += [dt.date.fromisoformat(r) for r in step.reminders]
                if step.escalation_date:
                    days.append(step.escalation_date)
        later = [d for d in days if d > today]
        return min(later) if later else None

    def _drain_leftovers(self, session: Session) -> None:
        """Send what a crashed run left unsent: move the clock past the latest retry time
        or lease, or to the next morning digest after what is still held (a resumed run
        replays from the beginning, so its clock may be early)."""
        from iba_workflow.store.tables import OutboxRow

        waiting = ("new", "held", "pending", "sending", "failed")
        for _ in range(4):
            unsent = session.exec(select(OutboxRow).where(col(OutboxRow.status).in_(waiting))).all()
            if not unsent:
                return
            latest = max(max(r.next_attempt_at, r.lease_until or r.next_attempt_at) for r in unsent)
            later = max(self.clock.now(), latest) + dt.timedelta(seconds=1)
            if any(r.status in ("new", "held") for r in unsent):
                cal = self.calendars(self.definition.municipality)
                day = later.astimezone(COPENHAGEN).date()
                later = max(later, day_start(cal.add_working_days(day, 1)))
            self.clock.set(later)
            self._drain(session)

    def _drain(self, session: Session) -> None:
        if self.deliver is not None:
            self.deliver(session)
            return
        from iba_workflow.dispatch.digest import prepare_mail

        now = self.clock.now()
        prepare_mail(session, self.ctx, self.settings)
        session.commit()
        while batch := claim_outbox_batch(session, DISPATCHER, now, limit=200):
            for row in batch:
                mark_sent(session, row.id or 0, DISPATCHER, now)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, DAY_TIME, tzinfo=COPENHAGEN).astimezone(dt.UTC)
