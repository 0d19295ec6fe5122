"""Composing a digest or bundle row (kind ``digest``) into one mail.

Every line names the intervention (short name), the step, its date and an opaque
enrollment reference, never a citizen. An open step gets its own single-use task link
(``links.store.issue_step_link``, bound to the step and this person); anything else links
into the workspace at a stable path, ``<IBA_BASE_URL>/forloeb/<id>`` (the workspace
pages come with a later issue; the path is fixed now so that mails already sent keep
working).

Calendar files travel with the mail only where a calendar must change: a REQUEST for a
meeting the person chose to receive by mail (``meeting_invitation: immediate``), or whose
earlier REQUEST they hold and which moved; a CANCEL only for a meeting whose REQUEST was
sent to them (``meeting_invitation`` table) — never for one they were not invited to.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

from sqlmodel import Session, select

from iba_workflow.clock import Clock
from iba_workflow.definition import Definition
from iba_workflow.engine.apply import calendar_id, is_meeting
from iba_workflow.engine.lifecycle import ENDED_KIND
from iba_workflow.links.store import issue_step_link
from iba_workflow.links.tokens import link_ttl
from iba_workflow.mail import DigestItem, DigestMail, DigestSection, MailRenderer
from iba_workflow.mail.invitations import (
    CalendarAttachment,
    Invitation,
    cancel_attachment,
    request_attachment,
)
from iba_workflow.mail.message import build_message
from iba_workflow.mail.render import role_names, short_date
from iba_workflow.settings import Settings
from iba_workflow.store.rows import get_by_id
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    EnrollmentRow,
    MeetingInvitationRow,
    OutboxRow,
    StaffRow,
    StepInstanceRow,
)

from .compose import (
    Composed,
    DefinitionCache,
    Skipped,
    enrollment_ref,
    step_ref,
    task_url,
)
from .feed import has_feed
from .route import request_sent

MEETING_KINDS = ("meeting_invitation", "change", "cancellation")


def workspace_url(base_url: str, ref: str) -> str:
    """The workspace's page of the enrollment ``F-00012``: ``<base>/forloeb/12`` (its
    access is the policy's: a signed-in coordinator or assignee)."""
    number = int(ref.removeprefix("F-")) if ref.startswith("F-") else ref
    return f"{base_url.rstrip('/')}/forloeb/{number}"


def short_name(d: Definition) -> str:
    """``HOP`` for "HOP – Helhedsorienteret praktik (…)": short enough for a phone."""
    return d.name.split(" – ")[0].split(":")[0].strip()


def end_text(d: Definition, payload: dict[str, Any], ref: str) -> str:
    """``Forløb F-00012 er afsluttet: ordinære løntimer; 11 planlagte aftaler er aflyst``"""
    n = int(payload.get("cancelled", 0))
    cancelled = f"; {n} planlagte aftaler er aflyst" if n != 1 else "; 1 planlagt aftale er aflyst"
    reason = str(payload.get("reason") or "")
    if payload.get("status") == "completed":
        return f"Forløb {ref} er gennemført"
    if payload.get("status") == "exited":
        return f"Forløb {ref} er afsluttet før tid" + (cancelled if n else "")
    step_id, _, outcome = reason.partition(": ")
    name = outcome
    try:
        spec = d.step(step_id.split("@")[0])
        name = next((o.name for o in spec.outcomes_list if o.id == outcome), outcome)
    except Exception:  # an old reason text: show it as it is
        name = reason
    name = name[:1].lower() + name[1:] if name else "afsluttet"
    return f"Forløb {ref} er afsluttet: {name}" + (cancelled if n else "")


class _Builder:
    def __init__(
        self,
        session: Session,
        row: OutboxRow,
        staff: StaffRow,
        settings: Settings,
        definitions: DefinitionCache,
        now: dt.datetime,
    ) -> None:
        self.session, self.row, self.staff = session, row, staff
        self.settings, self.definitions, self.now = settings, definitions, now
        self.shown: set[int] = set()
        self.calendars: list[CalendarAttachment] = []
        self.feed = has_feed(session, staff.id or 0)  # their calendar follows the feed

    def definition(self, enrollment: EnrollmentRow) -> Definition:
        return self.definitions.get(
            self.session, enrollment.definition_id, enrollment.definition_version
        )

    def step_item(self, step: StepInstanceRow, note: str = "") -> DigestItem | None:
        enrollment = get_by_id(self.session, EnrollmentRow, step.enrollment_id)
        if enrollment is None:
            return None
        d = self.definition(enrollment)
        ref = enrollment_ref(enrollment.id or 0)
        when = short_date(step.due_date) + (f" kl. {step.due_time:%H:%M}" if step.due_time else "")
        base = self.settings.base_url
        if step.status in OPEN_STEP_STATUSES and enrollment.status == "active":
            link = issue_step_link(
                self.session,
                step_instance_id=step.id or 0,
                staff_id=self.staff.id or 0,
                now=self.now,
                ttl=link_ttl(self.settings),
                outbox_id=self.row.id,
            )
            url = task_url(base, link.token)
            label = "Åbn mødet" if is_meeting(step) else "Åbn opgaven"
        else:
            url, label = workspace_url(base, ref), "Se forløbet"
        self.shown.add(step.id or 0)
        return DigestItem(
            intervention=short_name(d),
            enrollment_ref=ref,
            title=step.name,
            when=when,
            note=note,
            link_url=url,
            link_label=label,
        )

    def steps(self, ids: list[int], notes: dict[int, str]) -> tuple[DigestItem, ...]:
        found = []
        for step_id in ids:
            step = get_by_id(self.session, StepInstanceRow, step_id)
            if step is None or step.id in self.shown or step.status not in OPEN_STEP_STATUSES:
                continue
            item = self.step_item(step, notes.get(step_id, ""))
            if item is not None:
                found.append(item)
        return tuple(found)

    def calendar(self, step: StepInstanceRow, method: str) -> None:
        enrollment = get_by_id(self.session, EnrollmentRow, step.enrollment_id)
        assert enrollment is not None
        d = self.definition(enrollment)
        sequence = self.sequence(step.id or 0, method)
        invitation = Invitation(
            step_instance_id=calendar_id(step),
            sequence=sequence,
            intervention=d.name,
            step=step_ref(d, step, {}),
            enrollment_ref=enrollment_ref(enrollment.id or 0),
            organizer=email.utils.parseaddr(self.settings.mail_from)[1],
            attendees=(self.staff.email,),
        )
        make = request_attachment if method == "REQUEST" else cancel_attachment
        self.calendars.append(make(invitation, stamp=self.now))

    def sequence(self, step_id: int, method: str) -> int:
        """Like ``compose.allocate_sequence``, per step: kept in this row's payload so a
        retry sends the same SEQUENCE."""
        kept = dict(self.row.payload.get("ics_sequences", {}))
        if str(step_id) in kept:
            return int(kept[str(step_id)])
        state = self.session.exec(
            select(MeetingInvitationRow).where(
                MeetingInvitationRow.step_instance_id == step_id,
                MeetingInvitationRow.staff_id == self.staff.id,
            )
        ).first()
        if state is None:
            state = MeetingInvitationRow(
                step_instance_id=step_id,
                staff_id=self.staff.id or 0,
                sequence=0,
                updated_at=self.now,
            )
        else:
            state.sequence += 1
        state.method, state.updated_at = method, self.now
        self.session.add(state)
        kept[str(step_id)] = state.sequence
        self.row.payload = {**self.row.payload, "ics_sequences": kept}
        return state.sequence


def _sections(b: _Builder, payload: dict[str, Any], day: dt.date) -> list[DigestSection]:
    s = b.session
    staff_id = b.staff.id or 0
    items = [r for i in payload.get("items", []) if (r := get_by_id(s, OutboxRow, i)) is not None]
    notes: dict[int, str] = {}
    for it in items:
        if it.step_instance_id is None:
            continue
        if it.kind == "new_task":
            notes[it.step_instance_id] = "ny"
        elif it.kind == "meeting_invitation":
            notes[it.step_instance_id] = "nyt møde"
        elif it.kind == "change" and it.payload.get("old_date"):
            old = dt.date.fromisoformat(it.payload["old_date"])
            notes[it.step_instance_id] = f"flyttet fra {short_date(old)}"
    sections: list[DigestSection] = []

    def add(title: str, found: tuple[DigestItem, ...] | list[DigestItem]) -> None:
        if found:
            sections.append(DigestSection(title=title, items=tuple(found)))

    escalated = []
    for it in items:
        step = get_by_id(s, StepInstanceRow, it.step_instance_id) if it.step_instance_id else None
        if it.kind == "escalation" and step is not None and step.status in OPEN_STEP_STATUSES:
            role = it.payload.get("assignee_role", "")
            enrollment = get_by_id(s, EnrollmentRow, step.enrollment_id)
            names = role_names(b.definition(enrollment).roles) if enrollment else {}
            own = role == it.payload.get("escalated_to_role")
            note = "forfalden" if own else f"eskaleret til dig · ansvarlig: {names.get(role, role)}"
            item = b.step_item(step, note)
            if item is not None:
                escalated.append(item)
    add("Forfaldne", [*escalated, *b.steps(payload.get("overdue", []), notes)])
    add(f"I dag, {short_date(day)}", b.steps(payload.get("today", []), notes))
    soon = payload.get("next_working_day")
    if soon:
        nxt = dt.date.fromisoformat(soon)
        title = "I morgen" if nxt == day + dt.timedelta(days=1) else "Næste arbejdsdag"
        add(f"{title}, {short_date(nxt)}", b.steps(payload.get("tomorrow", []), notes))
    meetings: list[DigestItem] = []
    tasks: list[DigestItem] = []
    enrollments: list[DigestItem] = []
    for it in items:
        step = get_by_id(s, StepInstanceRow, it.step_instance_id) if it.step_instance_id else None
        immediate = it.payload.get("route") in ("immediate", "urgent")
        if it.kind in MEETING_KINDS and step is not None:
            sent = request_sent(s, step.id or 0, staff_id)
            if it.kind == "cancellation":
                if sent:
                    b.calendar(step, "CANCEL")
                b.shown.discard(step.id or 0)
                item = b.step_item(step, "aflyst")
            else:
                if step.status not in OPEN_STEP_STATUSES:
                    continue
                if not b.feed and (
                    (it.kind == "meeting_invitation" and immediate)
                    or (it.kind == "change" and (sent or immediate))
                ):
                    b.calendar(step, "REQUEST")
                if step.id in b.shown:
                    continue
                item = b.step_item(step, notes.get(step.id or 0, ""))
            if item is not None:
                meetings.append(item)
        elif it.kind in ("new_task", "reminder") and step is not None:
            tasks.extend(b.steps([step.id or 0], notes))
        elif it.kind == ENDED_KIND:
            enrollment = get_by_id(s, EnrollmentRow, it.enrollment_id) if it.enrollment_id else None
            if enrollment is None:
                continue
            for step_id in it.payload.get("cancelled_steps", []):
                cancelled = get_by_id(s, StepInstanceRow, step_id)
                if cancelled is not None and request_sent(s, step_id, staff_id):
                    b.calendar(cancelled, "CANCEL")
            ref = enrollment_ref(enrollment.id or 0)
            enrollments.append(
                DigestItem(
                    intervention=short_name(b.definition(enrollment)),
                    enrollment_ref=ref,
                    title=end_text(b.definition(enrollment), it.payload, ref),
                    when=short_date(enrollment.ended_on or day),
                    link_url=workspace_url(b.settings.base_url, ref),
                    link_label="Se forløbet",
                )
            )
    for enrollment_id in payload.get("started", []):
        enrollment = get_by_id(s, EnrollmentRow, enrollment_id)
        if enrollment is not None:
            ref = enrollment_ref(enrollment.id or 0)
            enrollments.append(
                DigestItem(
                    intervention=short_name(b.definition(enrollment)),
                    enrollment_ref=ref,
                    title=f"Forløb {ref} er startet",
                    when=short_date(enrollment.start),
                    link_url=workspace_url(b.settings.base_url, ref),
                    link_label="Se forløbet",
                )
            )
    add("Møder: nye, flyttede og aflyste", meetings)
    add("Nye opgaver og påmindelser", tasks)
    add("Forløb", enrollments)
    return sections


def compose_digest(
    session: Session,
    row: OutboxRow,
    *,
    settings: Settings,
    renderer: MailRenderer,
    clock: Clock,
    definitions: DefinitionCache,
) -> Composed | Skipped:
    """The mail of one digest or bundle row; commits its links and SEQUENCEs first."""
    staff = get_by_id(session, StaffRow, row.recipient_staff_id)
    if staff is None:
        return Skipped("no recipient")
    day = dt.date.fromisoformat(row.payload.get("day") or clock.now().date().isoformat())
    builder = _Builder(session, row, staff, settings, definitions, clock.now())
    sections = _sections(builder, row.payload, day)
    if not sections:
        session.rollback()
        return Skipped("nothing left to tell: all done since it was written")
    mail = DigestMail(
        day=day,
        mode=str(row.payload.get("mode") or "digest"),
        sections=tuple(sections),
        calendar_files=len(builder.calendars),
        workspace_url=f"{settings.base_url.rstrip('/')}/min-uge",
    )
    cals = builder.calendars
    message = build_message(
        outbox_id=row.id or 0,
        rendered=renderer.render(mail),
        sender=settings.mail_from,
        to=[staff.email],
        clock=clock,
        calendar=cals[0] if len(cals) == 1 else None,
    )
    if len(cals) > 1:
        for n, cal in enumerate(cals, start=1):
            name = f"{n:02d}-{cal.filename}"
            message.add_attachment(cal.data, maintype="application", subtype="ics", filename=name)
    session.add(row)
    session.commit()  # link hashes and SEQUENCEs are stored before anything is sent
    return Composed(message, (staff.email,))
