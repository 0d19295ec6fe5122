"""The weekly overview (``ugeoversigt``) for each IBA: what is due this week and what is
overdue in the enrollments they coordinate.

- ``enqueue_digests(session_factory, ctx) -> int``: on the first tick of an ISO week at or
  after Monday 08:00 (Copenhagen), one outbox row per IBA who coordinates an active
  enrollment (once a week's digests are written, a later tick asks one question and
  stops). The message id ``digest/<year>-W<week>/<staff id>`` makes it once per IBA
  per week, however many ticks run. The payload holds step instance ids only.
- ``compose_digest(...)``: the mail for such a row, rendered with ``DigestMail``.

Who coordinates an enrollment is who the engine mails for the role ``iba``
(``engine.apply.Recipients``: an explicit assignment, else the first active staff member
of the municipality holding the role). Sessions (teaching, training) are left out: they
are a timetable, not tasks. The rows name the intervention, the step, its date and an
opaque enrollment reference; there is no overview page, so the digest carries no links
(the task links are in the mails each task already sent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN, Clock
from iba_workflow.engine import EngineContext
from iba_workflow.engine.apply import Recipients, step_payload
from iba_workflow.mail import DigestMail, DigestRow, MailRenderer
from iba_workflow.mail.message import build_message
from iba_workflow.mail.render import role_names
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.outbox import enqueue
from iba_workflow.store.tables import (
    DONE_STEP_STATUSES,
    OPEN_STEP_STATUSES,
    EnrollmentRow,
    OutboxRow,
    StaffRow,
    StepInstanceRow,
)

from .compose import Composed, DefinitionCache, Skipped, enrollment_ref, step_ref

DIGEST_KIND = "digest"
DIGEST_ROLE = "iba"
DIGEST_HOUR = dt.time(8, 0)


def week_start(local_day: dt.date) -> dt.date:
    """The Monday of the ISO week of ``local_day``."""
    return local_day - dt.timedelta(days=local_day.weekday())


def digest_week(clock: Clock) -> dt.date | None:
    """This week's Monday, once it is Monday 08:00 in Copenhagen or later; else None."""
    local = clock.now().astimezone(COPENHAGEN)
    monday = week_start(local.date())
    opens = dt.datetime.combine(monday, DIGEST_HOUR, tzinfo=COPENHAGEN)
    return monday if local >= opens else None


def digest_message_id(monday: dt.date, staff_id: int) -> str:
    year, week, _ = monday.isocalendar()
    return f"{DIGEST_KIND}/{year}-W{week:02d}/{staff_id}"


def _open_task_steps(session: Session, until: dt.date) -> list[StepInstanceRow]:
    """Open, non-session steps of active enrollments due before ``until``."""
    return list(
        session.exec(
            select(StepInstanceRow)
            .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
            .where(
                EnrollmentRow.status == "active",
                col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
                StepInstanceRow.kind != "session",
                col(StepInstanceRow.due_date) < until,
            )
            .order_by(
                col(StepInstanceRow.due_date),
                col(StepInstanceRow.due_time).nulls_first(),  # same order on both backends
                col(StepInstanceRow.enrollment_id),
                col(StepInstanceRow.id),
            )
        )
    )


def coordinators(session: Session) -> dict[int, int | None]:
    """Active enrollment id → the staff id that coordinates it (role ``iba``), if any."""
    found: dict[int, int | None] = {}
    active = select(EnrollmentRow).where(EnrollmentRow.status == "active")
    for enrollment in session.exec(active.order_by(col(EnrollmentRow.id))):
        found[enrollment.id or 0] = Recipients(session, enrollment).for_role(DIGEST_ROLE)
    return found


def enqueue_digests(session_factory: SessionFactory, ctx: EngineContext) -> int:
    """Write this week's digest rows (none before Monday 08:00, none twice); how many."""
    monday = digest_week(ctx.clock)
    if monday is None:
        return 0
    made = 0
    with session_factory() as session:
        # every later tick of the week: one query, not two per active enrollment
        week = digest_message_id(monday, 0).rsplit("/", 1)[0] + "/"
        written = select(OutboxRow.id).where(col(OutboxRow.message_id).startswith(week))
        if session.exec(written.limit(1)).first() is not None:
            return 0
        owner = coordinators(session)
        plans: dict[int, dict[str, list[int]]] = {
            staff_id: {"due": [], "overdue": []} for staff_id in owner.values() if staff_id
        }
        for step in _open_task_steps(session, monday + dt.timedelta(days=7)):
            staff_id = owner.get(step.enrollment_id)
            if staff_id is None:
                continue
            bucket = "overdue" if step.due_date < monday else "due"
            plans[staff_id][bucket].append(step.id or 0)
        for staff_id, rows in sorted(plans.items()):
            staff = session.get(StaffRow, staff_id)
            if staff is None or not staff.active:
                continue
            if enqueue(
                session,
                message_id=digest_message_id(monday, staff_id),
                kind=DIGEST_KIND,
                recipient_staff_id=staff_id,
                now=ctx.now(),
                payload={"week_start": monday.isoformat(), **rows},
            ):
                made += 1
        try:
            session.commit()
        except IntegrityError:  # another dispatcher wrote this week's digests first
            session.rollback()
            return 0
    return made


def _rows(
    session: Session, ids: Iterable[int], definitions: DefinitionCache, names: dict[str, str]
) -> tuple[DigestRow, ...]:
    rows: list[DigestRow] = []
    for step_id in ids:
        step = session.get(StepInstanceRow, step_id)
        if step is None or step.status in DONE_STEP_STATUSES:
            continue  # done since the digest was written: no longer to do
        enrollment = session.get(EnrollmentRow, step.enrollment_id)
        if enrollment is None or enrollment.status != "active":
            continue
        d = definitions.get(session, enrollment.definition_id, enrollment.definition_version)
        roles = role_names(d.roles)
        names.setdefault("iba", roles.get(DIGEST_ROLE, "IBA"))
        rows.append(
            DigestRow(
                intervention=d.name,
                step=step_ref(d, step, step_payload(step)),
                enrollment_ref=enrollment_ref(enrollment.id or 0),
                assignee_role=roles.get(step.assignee_role, step.assignee_role),
                link_url="",  # no overview page: see the module docstring
            )
        )
    return tuple(rows)


def compose_digest(
    session: Session,
    row: OutboxRow,
    *,
    settings: Settings,
    renderer: MailRenderer,
    clock: Clock,
    definitions: DefinitionCache,
) -> Composed | Skipped:
    """The digest mail of one outbox row, from the steps its payload names."""
    staff = session.get(StaffRow, row.recipient_staff_id)
    if staff is None:
        return Skipped("no recipient")
    names: dict[str, str] = {}
    overdue = _rows(session, row.payload.get("overdue", []), definitions, names)
    due = _rows(session, row.payload.get("due", []), definitions, names)
    mail = DigestMail(
        recipient_role=names.get("iba", "IBA"),
        week_start=dt.date.fromisoformat(row.payload["week_start"]),
        due=due,
        overdue=overdue,
        overview_url=None,
    )
    message = build_message(
        outbox_id=row.id or 0,
        rendered=renderer.render(mail),
        sender=settings.mail_from,
        to=[staff.email],
        clock=clock,
    )
    return Composed(message, (staff.email,))
