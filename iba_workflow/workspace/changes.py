"""Changing a running enrollment from its page: pause for sick leave, extend, end early,
move the start, give a step to another staff member. Each is first shown as the engine's
impact (a dry run, nothing written), then confirmed (one unit of work)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from iba_workflow.engine.reassign import reassign_step
from iba_workflow.engine.replan import replan
from iba_workflow.errors import InvalidInput, NotFound
from iba_workflow.identity.policy import Action, Kind, PageAccess, Resource, decide, require
from iba_workflow.mail.render import long_date
from iba_workflow.store.tables import EnrollmentRow, StaffRow, StepInstanceRow
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.impact import ImpactText, impact_text

from .context import Workspace
from .people import StepPeople

KINDS = {
    "pause": "Pause (sygemelding)",
    "forlaeng": "Forlæng forløbet",
    "afslut": "Afslut før tid",
    "flyt-start": "Flyt starten",
    "omfordel": "Giv en opgave til en anden medarbejder",
}


@dataclass
class Change:
    kind: str
    summary: str
    lines: list[ImpactText]
    fields: list[tuple[str, str]]


def _date(posted: Mapping[str, Any], name: str, label: str) -> dt.date:
    raw = str(posted.get(name, "")).strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{label} mangler eller er ikke en dato (åååå-mm-dd)") from None


def enrollment_for(
    session: Session, access: PageAccess, enrollment_id: int, action: Action
) -> EnrollmentRow:
    e = session.get(EnrollmentRow, enrollment_id)
    if e is None:
        raise NotFound(f"no enrollment {enrollment_id}")
    resource = Resource(
        kind=Kind.ENROLLMENT, municipality=e.municipality, definition_id=e.definition_id
    )
    if action is Action.VIEW and not decide(access.actor, action, resource):
        resource = Resource(  # one who holds a task in it sees the minimum
            kind=Kind.ENROLLMENT,
            municipality=e.municipality,
            definition_id=e.definition_id,
            staff_ids=involved_staff(session, e),
        )
    require(access.actor, action, resource)
    return e


def involved_staff(session: Session, e: EnrollmentRow) -> frozenset[int]:
    """Everyone who holds (or held) a step of the enrollment."""
    from sqlmodel import select

    people = StepPeople(session, e.municipality, [e.id or 0])
    steps = session.exec(select(StepInstanceRow).where(StepInstanceRow.enrollment_id == e.id))
    return frozenset(i for s in steps for i in people.for_step(s))


def run_change(
    ws: Workspace,
    access: PageAccess,
    enrollment_id: int,
    posted: Mapping[str, Any],
    *,
    dry_run: bool,
) -> Change:
    """The change described by ``posted`` (``handling`` and its fields): its impact, and
    written only when not ``dry_run``. Raises :class:`InvalidInput` on bad input."""
    kind = str(posted.get("handling", ""))
    if kind not in KINDS:
        raise InvalidInput("vælg en handling")
    ctx = ws.engine_ctx(access)
    fields: list[tuple[str, str]] = [("handling", kind)]
    with unit_of_work(ws.ident.session_factory) as session:
        enrollment_for(session, access, enrollment_id, Action.ACT)
        if kind == "omfordel":
            return _reassign(session, ctx, enrollment_id, posted, dry_run, fields)
        args: dict[str, Any] = {}
        if kind == "pause":
            first, last = _date(posted, "fra", "Første dag"), _date(posted, "til", "Sidste dag")
            args["pause"] = (first, last)
            summary = f"Pause fra {long_date(first)} til {long_date(last)}"
            fields += [("fra", first.isoformat()), ("til", last.isoformat())]
        elif kind == "forlaeng":
            raw = str(posted.get("uger", "")).strip()
            if not raw.isdigit() or not 1 <= int(raw) <= 52:
                raise InvalidInput("antal uger skal være et helt tal fra 1 til 52")
            args["extend_weeks"] = int(raw)
            summary = f"Forlæng med {raw} uger"
            fields.append(("uger", raw))
        elif kind == "afslut":
            day = _date(posted, "dato", "Datoen")
            args["exit_on"] = day
            summary = f"Afslut forløbet {long_date(day)}"
            fields.append(("dato", day.isoformat()))
        else:
            day = _date(posted, "dato", "Den nye startdato")
            args["new_start"] = day
            summary = f"Flyt starten til {long_date(day)}"
            fields.append(("dato", day.isoformat()))
        result = replan(session, ctx, enrollment_id=enrollment_id, dry_run=dry_run, **args)
        return Change(kind, summary, impact_text(result.lines), fields)


def _reassign(
    session: Session, ctx: Any, enrollment_id: int, posted: Mapping[str, Any], dry_run: bool,
    fields: list[tuple[str, str]],
) -> Change:  # fmt: skip
    step_raw, staff_raw = str(posted.get("trin", "")), str(posted.get("medarbejder", ""))
    if not step_raw.isdigit() or not staff_raw.isdigit():
        raise InvalidInput("vælg både en opgave og en medarbejder")
    step = session.get(StepInstanceRow, int(step_raw))
    if step is None or step.enrollment_id != enrollment_id:
        raise InvalidInput("opgaven hører ikke til dette forløb")
    staff = session.get(StaffRow, int(staff_raw))
    reassign_step(
        session, ctx, step_instance_id=step.id or 0, staff_id=int(staff_raw), dry_run=dry_run
    )
    name = staff.name if staff else staff_raw
    summary = f"'{step.name}' ({long_date(step.due_date)}) gives til {name}"
    fields += [("trin", step_raw), ("medarbejder", staff_raw)]
    return Change(
        "omfordel", summary, [ImpactText("Gives videre", step.name, f"til {name}")], fields
    )
