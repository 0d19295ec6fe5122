"""The citizen's extract (GDPR art. 15): everything stored about one citizen, and the log
of who read her data and when, as JSON and as a readable Danish PDF.

Rows are found by following the record's keys from her citizen id (visitations,
enrollments, their steps, completions, outcomes, measurements, attendance, mails by
reference, links, invitations, audit lines). Nothing is found by text search, so nothing
of another citizen can come along. Making the extract is itself written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, col, or_, select

from iba_workflow.errors import NotFound
from iba_workflow.store.records import audit, citizen_by_ref, pk, read_citizen_identity
from iba_workflow.store.requests import VisitationRequestRow
from iba_workflow.store.tables import (
    AttendanceRow,
    AuditRow,
    CompletionRow,
    ConsentRow,
    EnrollmentRow,
    EnrollmentStaffRow,
    LinkTokenRow,
    MeasurementRow,
    MeetingInvitationRow,
    OutboxRow,
    OutcomeRow,
    StepInstanceRow,
    VisitationRow,
)

#: Sections of the extract, in the order a reader meets them, with their Danish titles.
SECTIONS = {
    "borger": "Borger",
    "identitet": "Identitet",
    "samtykker": "Samtykker",
    "visitationer": "Visitationer",
    "visitationsanmodninger": "Modtagne visitationsanmodninger",
    "forloeb": "Forløb",
    "forloeb_personale": "Personale på forløbene",
    "trin": "Trin i forløbene",
    "gennemfoerelser": "Gennemførte trin",
    "udfald": "Udfald",
    "maalinger": "Målinger",
    "fremmoede": "Fremmøde",
    "mails": "Mails om borgeren (kun reference, ikke indhold)",
    "links": "Links i mails",
    "moedeindkaldelser": "Mødeindkaldelser",
    "log": "Log over læsning og ændringer",
}
#: Danish column headings for the PDF (the JSON keeps the stored names).
LABELS = {
    "id": "nr.",
    "ref": "reference",
    "municipality": "kommune",
    "created_at": "oprettet",
    "updated_at": "ændret",
    "given": "givet",
    "at": "tidspunkt",
    "by_staff_id": "af medarbejder",
    "citizen_id": "borger nr.",
    "scope": "omfang",
    "definition_id": "indsats",
    "definition_version": "version",
    "held_on": "holdt den",
    "decision": "afgørelse",
    "reason": "årsag",
    "answers": "svar",
    "decided_by": "afgjort af",
    "visitation_id": "visitation nr.",
    "enrollment_id": "forløb nr.",
    "status": "status",
    "start": "start",
    "visitation_on": "visiteret den",
    "ended_on": "sluttede den",
    "ended_reason": "slutårsag",
    "step_instance_id": "trin nr.",
    "step_id": "trin",
    "key": "nøgle",
    "name": "navn",
    "kind": "art",
    "due_date": "dato",
    "due_time": "tid",
    "completed_at": "udført",
    "completed_on": "udført den",
    "outcome": "udfald",
    "data": "indtastet",
    "dimension": "mål",
    "value": "værdi",
    "health": "helbred",
    "measured_on": "målt den",
    "day": "dag",
    "present": "mødt",
    "actor": "hvem",
    "action": "handling",
    "entity": "hvad",
    "entity_id": "hvad nr.",
    "details": "detaljer",
    "recipient_staff_id": "modtager (medarbejder)",
    "sent_at": "sendt",
    "staff_id": "medarbejder",
    "role": "rolle",
    "expires_at": "udløber",
    "used_at": "brugt",
    "depends_on": "venter på",
    "reminders": "påmindelser",
    "remind_from": "påmindes fra",
    "next_reminder": "næste påmindelse",
    "branch": "gren",
    "escalation_date": "eskaleres den",
    "escalation_role": "eskaleres til",
    "assignee_role": "udføres af (rolle)",
    "assigned_staff_id": "udføres af (medarbejder)",
    "attendee_roles": "deltagere (roller)",
    "revision": "revision",
    "template": "skabelon",
    "period": "periode",
    "content_hash": "definitionens fingeraftryk",
    "cohort_id": "hold nr.",
    "adjustments": "ændringer",
    "duration_weeks": "uger",
    "weekdays": "ugedage",
    "channel": "kanal",
    "submitted_by": "sendt af (API-nøgle)",
    "skipped": "sprunget over",
    "message_id": "mail-id",
    "sequence": "sekvens",
    "method": "metode",
    "received_at": "modtaget",
    "processed_at": "behandlet",
    "accept": "optag",
    "reject_reason": "afvisningsårsag",
    "cohort": "hold",
    "error": "fejl",
}
MAIL_FIELDS = (
    "id",
    "message_id",
    "kind",
    "recipient_staff_id",
    "step_instance_id",
    "status",
    "created_at",
    "sent_at",
)
LINK_FIELDS = ("id", "step_instance_id", "staff_id", "created_at", "expires_at", "used_at")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _row(row: SQLModel, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    data = row.model_dump()
    if fields is not None:
        data = {k: data[k] for k in fields}
    return {k: _plain(v) for k, v in data.items()}


def build_extract(
    session: Session, citizen_ref: str, *, actor: str, at: dt.datetime
) -> dict[str, Any]:
    """Every row about the citizen ``citizen_ref``; audited (and committed: a read of
    personal data is logged even if the caller's work rolls back)."""
    citizen = citizen_by_ref(session, citizen_ref)
    cid = pk(citizen)
    out: dict[str, Any] = {key: [] for key in SECTIONS}
    out["borger"] = [_row(citizen)]
    try:
        who = read_citizen_identity(session, cid, actor=actor, purpose="indsigt", at=at)
        out["identitet"] = [
            {"navn": who.name, "cpr": who.cpr, "email": who.email, "telefon": who.phone}
        ]
    except NotFound:  # no identity on file: the section stays empty
        pass
    out["samtykker"] = _rows(session, select(ConsentRow).where(ConsentRow.citizen_id == cid))
    out["visitationer"] = _rows(
        session, select(VisitationRow).where(VisitationRow.citizen_id == cid)
    )
    out["visitationsanmodninger"] = _rows(
        session, select(VisitationRequestRow).where(VisitationRequestRow.citizen_id == cid)
    )
    enrollments = session.exec(select(EnrollmentRow).where(EnrollmentRow.citizen_id == cid)).all()
    out["forloeb"] = [_row(e) for e in enrollments]
    eids = [pk(e) for e in enrollments]
    out["forloeb_personale"] = _rows(
        session, select(EnrollmentStaffRow).where(col(EnrollmentStaffRow.enrollment_id).in_(eids))
    )
    steps = session.exec(
        select(StepInstanceRow)
        .where(col(StepInstanceRow.enrollment_id).in_(eids))
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
    ).all()
    out["trin"] = [_row(s) for s in steps]
    sids = [pk(s) for s in steps]
    out["gennemfoerelser"] = _rows(
        session, select(CompletionRow).where(col(CompletionRow.step_instance_id).in_(sids))
    )
    for key, model in (("udfald", OutcomeRow), ("maalinger", MeasurementRow)):
        out[key] = _rows(session, select(model).where(col(model.enrollment_id).in_(eids)))
    out["fremmoede"] = _rows(
        session, select(AttendanceRow).where(col(AttendanceRow.enrollment_id).in_(eids))
    )
    mails = session.exec(
        select(OutboxRow).where(
            or_(col(OutboxRow.enrollment_id).in_(eids), col(OutboxRow.step_instance_id).in_(sids))
        )
    ).all()
    out["mails"] = [_row(m, MAIL_FIELDS) for m in mails]
    links = session.exec(select(LinkTokenRow).where(col(LinkTokenRow.step_instance_id).in_(sids)))
    out["links"] = [_row(link, LINK_FIELDS) for link in links]
    out["moedeindkaldelser"] = _rows(
        session,
        select(MeetingInvitationRow).where(col(MeetingInvitationRow.step_instance_id).in_(sids)),
    )
    out["log"] = _rows(
        session,
        select(AuditRow)
        .where(or_(AuditRow.citizen_id == cid, col(AuditRow.enrollment_id).in_(eids)))
        .order_by(col(AuditRow.at), col(AuditRow.id)),
    )
    audit(
        session,
        at=at,
        actor=actor,
        action="citizen_extract",
        entity="citizen",
        entity_id=cid,
        citizen_id=cid,
        sections={k: len(v) for k, v in out.items()},
    )
    session.commit()
    return {"udtraek": {"borger": citizen_ref, "udarbejdet": at.isoformat()}, **out}


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [_row(r) for r in session.exec(query).all()]


def render_extract_pdf(extract: dict[str, Any], *, templates: Path | None = None) -> bytes:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from iba_workflow import paths
    from iba_workflow.reports.render import html_to_pdf

    env = Environment(
        loader=FileSystemLoader(str(templates or paths.templates_dir())),
        autoescape=select_autoescape(["html", "j2"]),
    )
    html = env.get_template("privacy/extract.html.j2").render(
        extract=extract, sections=SECTIONS, head=extract["udtraek"], labels=LABELS
    )
    return html_to_pdf(html)
