"""From one claimed outbox row to one ready ``EmailMessage``: the synchronous part of
delivery (reads the record, issues the link, allocates the .ics SEQUENCE, renders).

What a mail may say comes from the outbox payload (ids and step facts) and the
definition (names, places, roles); the citizen is named by an opaque enrollment
reference (:func:`enrollment_ref`), never by anything from ``citizen_identity``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session, select

from iba_workflow.clock import Clock
from iba_workflow.definition import Definition
from iba_workflow.engine.apply import calendar_id, is_meeting
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.links.store import issue_step_link
from iba_workflow.links.tokens import link_ttl
from iba_workflow.mail import DEFAULT_TEMPLATE_FOR_KIND, MailRenderer, StepMail, StepRef
from iba_workflow.mail.invitations import (
    CalendarAttachment,
    Invitation,
    cancel_attachment,
    request_attachment,
)
from iba_workflow.mail.message import build_message
from iba_workflow.mail.render import GROUP_REF, role_names
from iba_workflow.settings import Settings
from iba_workflow.store.tables import (
    DONE_STEP_STATUSES,
    EnrollmentRow,
    MeetingInvitationRow,
    OutboxRow,
    StaffRow,
    StepInstanceRow,
)

from .feed import has_feed
from .route import request_sent

#: Outbox kinds whose mail carries a link to the task page.
ACTIONABLE_KINDS = frozenset(
    {"new_task", "meeting_invitation", "reminder", "escalation", "change", "fresh_link"}
)
#: Kinds not worth sending once the step is done (the mail would ask for done work).
STALE_WHEN_DONE = frozenset({"new_task", "reminder", "escalation", "fresh_link"})
#: Templates by outbox kind; ``None``: the step's own template.
KIND_TEMPLATES: dict[str, str | None] = {
    "new_task": None,
    "meeting_invitation": None,
    "reminder": "paamindelse",
    "escalation": "eskalering",
    "change": "aendring",
    "cancellation": "aflysning",
    "fresh_link": None,  # asked for on an expired link's page
}


def enrollment_ref(enrollment_id: int) -> str:
    """The opaque reference a mail and a task page use for an enrollment."""
    return f"F-{enrollment_id:05d}"


def mail_ref(step: StepInstanceRow, enrollment_id: int) -> str:
    """What a mail about ``step`` names: its enrollment's F-number, or for a group's
    occurrence (issue 12: one meeting for everyone) the group, never one member of it."""
    return GROUP_REF if step.group_key else enrollment_ref(enrollment_id)


def task_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/{token}"


@dataclass(frozen=True)
class Composed:
    message: EmailMessage
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    reason: str


class DefinitionCache:
    """Definitions by (id, version), read once per batch."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, int], Definition] = {}

    def get(self, session: Session, definition_id: str, version: int) -> Definition:
        key = (definition_id, version)
        if key not in self._found:
            self._found[key] = stored_definition(session, definition_id, version)
        return self._found[key]


def step_ref(d: Definition, step: StepInstanceRow, payload: dict[str, Any]) -> StepRef:
    """What the mail says about the step, as the payload recorded it."""
    spec = d.step(step.step_id)
    names = role_names(d.roles)
    time = payload.get("time")
    return StepRef(
        key=step.key,
        name=str(payload.get("step_name") or step.name),
        kind=step.kind,
        date=dt.date.fromisoformat(payload.get("due_date") or step.due_date.isoformat()),
        time=dt.time.fromisoformat(time) if time else None,
        duration_minutes=getattr(spec, "duration_minutes", None),
        place=getattr(spec, "place", None),
        attendee_roles=tuple(names.get(r, r) for r in step.attendee_roles),
    )


def recipient_role(d: Definition, step: StepInstanceRow, row: OutboxRow, staff: StaffRow) -> str:
    names = role_names(d.roles)
    if row.kind == "escalation" and row.payload.get("escalated_to_role"):
        return names.get(row.payload["escalated_to_role"], row.payload["escalated_to_role"])
    for role in [step.assignee_role, *step.attendee_roles]:
        if role in staff.roles:
            return names.get(role, role)
    return names.get(step.assignee_role, step.assignee_role)


def template_for(renderer: MailRenderer, kind: str, step: StepInstanceRow) -> str:
    fixed = KIND_TEMPLATES.get(kind)
    if fixed is not None:
        return fixed
    if step.template and renderer.has_template(step.template):
        return step.template
    return DEFAULT_TEMPLATE_FOR_KIND.get(step.kind, "ny_opgave")


def allocate_sequence(
    session: Session, row: OutboxRow, *, step_id: int, staff_id: int, method: str, now: dt.datetime
) -> int:
    """The .ics SEQUENCE of this outbox row: allocated once (kept in its payload, so a
    retry reuses it), one higher than the last one for (step, staff)."""
    if "ics_sequence" in row.payload:
        return int(row.payload["ics_sequence"])
    state = session.exec(
        select(MeetingInvitationRow).where(
            MeetingInvitationRow.step_instance_id == step_id,
            MeetingInvitationRow.staff_id == staff_id,
        )
    ).first()
    if state is None:
        state = MeetingInvitationRow(
            step_instance_id=step_id, staff_id=staff_id, sequence=0, updated_at=now
        )
    else:
        state.sequence += 1
    state.method, state.updated_at = method, now
    session.add(state)
    row.payload = {**row.payload, "ics_sequence": state.sequence}
    return state.sequence


def compose(
    session: Session,
    row: OutboxRow,
    *,
    settings: Settings,
    renderer: MailRenderer,
    clock: Clock,
    today: dt.date,
    definitions: DefinitionCache,
    commit: bool = True,
) -> Composed | Skipped:
    """Build the mail for ``row``; commits the link hash and SEQUENCE before returning
    (with ``commit=False`` the caller commits them, for a whole batch, before sending)."""
    now = clock.now()
    step = session.get(StepInstanceRow, row.step_instance_id) if row.step_instance_id else None
    staff = session.get(StaffRow, row.recipient_staff_id)
    if step is None or staff is None:
        return Skipped("no step or recipient")
    if row.kind in STALE_WHEN_DONE and step.status in DONE_STEP_STATUSES:
        return Skipped(f"step is {step.status}")
    enrollment = session.get(EnrollmentRow, step.enrollment_id)
    assert enrollment is not None
    d = definitions.get(session, enrollment.definition_id, enrollment.definition_version)
    payload = dict(row.payload)
    ref = step_ref(d, step, payload)
    url = ""
    if row.kind in ACTIONABLE_KINDS and step.status not in DONE_STEP_STATUSES:
        link = issue_step_link(
            session,
            step_instance_id=step.id or 0,
            staff_id=staff.id or 0,
            now=now,
            ttl=link_ttl(settings),
            outbox_id=row.id,
            flush=commit,  # in a batch, the links go in with the batch's one commit
        )
        url = task_url(settings.base_url, link.token)
    calendar: CalendarAttachment | None = None
    method = _calendar_method(row.kind, step)
    if method == "CANCEL" and not request_sent(session, step.id or 0, staff.id or 0):
        method = None  # never cancel in a calendar what was never put there
    if method == "REQUEST" and has_feed(session, staff.id or 0):
        method = None  # their calendar follows their feed
    if method is not None:
        sequence = allocate_sequence(
            session, row, step_id=step.id or 0, staff_id=staff.id or 0, method=method, now=now
        )
        organizer = email.utils.parseaddr(settings.mail_from)[1]
        invitation = Invitation(
            step_instance_id=calendar_id(step),
            sequence=sequence,
            intervention=d.name,
            step=ref,
            enrollment_ref=mail_ref(step, enrollment.id or 0),
            organizer=organizer,
            attendees=(staff.email,),
            workspace_url=settings.base_url,  # never the task link: calendars are shared
        )
        make = request_attachment if method == "REQUEST" else cancel_attachment
        calendar = make(invitation, stamp=now)
    old = payload.get("old_date")
    mail = StepMail(
        template=template_for(renderer, row.kind, step),
        intervention=d.name,
        step=ref,
        enrollment_ref=mail_ref(step, enrollment.id or 0),
        recipient_role=recipient_role(d, step, row, staff),
        link_url=url,
        assignee_role=role_names(d.roles).get(step.assignee_role, step.assignee_role),
        previous=StepRef(key=ref.key, name=ref.name, kind=ref.kind, date=dt.date.fromisoformat(old))
        if old
        else None,
        today=today,
        calendar_attached=calendar is not None,
    )
    rendered = renderer.render(mail)
    message = build_message(
        outbox_id=row.id or 0,
        rendered=rendered,
        sender=settings.mail_from,
        to=[staff.email],
        clock=clock,
        calendar=calendar,
    )
    session.add(row)
    if commit:  # the link's hash and the SEQUENCE are stored before anything is sent
        session.commit()
    return Composed(message, (staff.email,))


def _calendar_method(kind: str, step: StepInstanceRow) -> str | None:
    if not is_meeting(step):
        return None
    if kind in ("meeting_invitation", "change"):
        return "REQUEST"
    if kind == "cancellation":
        return "CANCEL"
    return None
