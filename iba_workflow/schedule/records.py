"""The schedule's part of the record: fixed commitments, staff working hours and
calendars, and an enrollment's external contacts (personal data, read audited).

Functions take a session, add and flush, and never commit: the caller (a CLI command, a
request) owns the unit of work. Audit lines carry ids and facts, never a label or a name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from iba_workflow.errors import NotFound
from iba_workflow.store.records import audit, pk
from iba_workflow.store.tables import EnrollmentRow, StaffRow

from .icalendar_io import commitments_from_ics
from .model import Busy, Commitment, Person, ScheduleError, TimeRange
from .tables import (
    CommitmentRow,
    EnrollmentContactRow,
    StaffCalendarRow,
    StaffHoursRow,
)

WEEKDAYS = {"man": 0, "tirs": 1, "ons": 2, "tors": 3, "fre": 4, "lør": 5, "søn": 6}
BusyReader = Callable[[StaffCalendarRow, dt.date, dt.date], list[Busy]]


def parse_weekday(text: str) -> int:
    """``tirsdag``, ``tirs``, ``tue`` or ``1`` → 1."""
    word = text.strip().lower()
    english = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    if word.isdigit() and 0 <= int(word) <= 6:
        return int(word)
    if word[:3] in english:
        return english.index(word[:3])
    for prefix, day in WEEKDAYS.items():
        if word.startswith(prefix):
            return day
    raise ScheduleError(
        f"unknown weekday {text!r}", hint="write mandag, tirsdag, onsdag, torsdag or fredag"
    )


def parse_days(text: str) -> list[int]:
    """``man-fre``, ``man,ons,fre`` → weekday numbers."""
    if "-" in text:
        first, last = (parse_weekday(p) for p in text.split("-", 1))
        return list(range(first, last + 1))
    return [parse_weekday(p) for p in text.split(",") if p.strip()]


def _row(commitment: Commitment) -> dict[str, object]:
    return dict(
        label=commitment.label,
        weekday=commitment.weekday,
        on_date=commitment.on,
        start_time=commitment.time.start,
        end_time=commitment.time.end,
        valid_from=commitment.valid_from,
        valid_to=commitment.valid_to,
        counts_toward_hours=commitment.counts_toward_hours,
    )


def to_commitment(row: CommitmentRow) -> Commitment:
    return Commitment(
        row.label,
        TimeRange(row.start_time, row.end_time),
        weekday=row.weekday,
        on=row.on_date,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        counts_toward_hours=row.counts_toward_hours,
    )


def add_commitment(
    session: Session,
    commitment: Commitment,
    *,
    at: dt.datetime,
    actor: str,
    citizen_id: int | None = None,
    staff_id: int | None = None,
    source: str = "cli",
    source_uid: str | None = None,
) -> CommitmentRow:
    if (citizen_id is None) == (staff_id is None):
        raise ScheduleError("a commitment belongs to one citizen or one staff member")
    row = CommitmentRow(
        citizen_id=citizen_id,
        staff_id=staff_id,
        source=source,
        source_uid=source_uid,
        created_at=at,
        **_row(commitment),  # type: ignore[arg-type]
    )
    session.add(row)
    session.flush()
    audit(
        session,
        at=at,
        actor=actor,
        action="commitment_added",
        entity="schedule_commitment",
        entity_id=row.id,
        citizen_id=citizen_id,
        staff_id=staff_id,
        source=source,
    )
    return row


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def import_ics(
    session: Session,
    data: bytes,
    *,
    at: dt.datetime,
    actor: str,
    citizen_id: int | None = None,
    staff_id: int | None = None,
    counts_toward_hours: bool = False,
) -> ImportResult:
    """Import an .ics file's events as fixed commitments. Importing the same file again
    changes nothing; a changed event (same UID) is updated in place."""
    parsed = commitments_from_ics(data, counts_toward_hours=counts_toward_hours)
    existing = {
        r.source_uid: r
        for r in session.exec(
            select(CommitmentRow).where(
                CommitmentRow.citizen_id == citizen_id,
                CommitmentRow.staff_id == staff_id,
                CommitmentRow.source == "ics",
            )
        )
    }
    added = updated = unchanged = 0
    for uid, commitment in parsed:
        row = existing.get(uid)
        if row is None:
            add_commitment(
                session,
                commitment,
                at=at,
                actor=actor,
                citizen_id=citizen_id,
                staff_id=staff_id,
                source="ics",
                source_uid=uid,
            )
            added += 1
        elif to_commitment(row) == commitment:
            unchanged += 1
        else:
            for name, value in _row(commitment).items():
                setattr(row, name, value)
            session.add(row)
            updated += 1
    session.flush()
    return ImportResult(added, updated, unchanged)


def commitments_of(
    session: Session, *, citizen_id: int | None = None, staff_id: int | None = None
) -> list[CommitmentRow]:
    query = select(CommitmentRow).order_by(col(CommitmentRow.id))
    if citizen_id is not None:
        query = query.where(CommitmentRow.citizen_id == citizen_id)
    else:
        query = query.where(CommitmentRow.staff_id == staff_id)
    return list(session.exec(query))


def remove_commitment(session: Session, commitment_id: int, *, at: dt.datetime, actor: str) -> None:
    row = session.get(CommitmentRow, commitment_id)
    if row is None:
        raise NotFound(f"no commitment {commitment_id}", hint="iba schedule commitment list REF")
    audit(
        session,
        at=at,
        actor=actor,
        action="commitment_removed",
        entity="schedule_commitment",
        entity_id=commitment_id,
        citizen_id=row.citizen_id,
    )
    session.delete(row)
    session.flush()


def staff_by_email(session: Session, email: str) -> StaffRow:
    row = session.exec(select(StaffRow).where(StaffRow.email == email)).first()
    if row is None:
        raise NotFound(f"no staff member with e-mail {email}", hint="iba staff add ...")
    return row


def set_staff_hours(
    session: Session, staff_id: int, days: Iterable[int], hours: TimeRange | None
) -> None:
    """Working hours on ``days`` (``None``: not working those days)."""
    for day in days:
        row = session.exec(
            select(StaffHoursRow).where(
                StaffHoursRow.staff_id == staff_id, StaffHoursRow.weekday == day
            )
        ).first()
        if hours is None:
            if row is not None:
                session.delete(row)
            continue
        row = row or StaffHoursRow(
            staff_id=staff_id, weekday=day, start_time=hours.start, end_time=hours.end
        )
        row.start_time, row.end_time = hours.start, hours.end
        session.add(row)
    session.flush()


def add_staff_calendar(
    session: Session,
    staff_id: int,
    *,
    kind: str,
    url: str,
    at: dt.datetime,
    username: str | None = None,
) -> StaffCalendarRow:
    if kind not in ("caldav", "ics_url"):
        raise ScheduleError(f"unknown calendar kind {kind!r}", hint="caldav or ics_url")
    if not url.startswith(("http://", "https://", "webcal://")):
        raise ScheduleError("a calendar address starts with https://, http:// or webcal://")
    row = StaffCalendarRow(staff_id=staff_id, kind=kind, url=url, username=username, created_at=at)
    session.add(row)
    session.flush()
    return row


def busy_reader(password: str | None = None) -> BusyReader:
    """The :data:`BusyReader` over the network: CalDAV (with the calendar's user name and
    ``password``, from ``IBA_CALDAV_PASSWORD``) or a published URL."""

    def read(row: StaffCalendarRow, first: dt.date, last: dt.date) -> list[Busy]:
        from .calendars import caldav_busy, published_busy

        if row.kind == "caldav":
            auth = (row.username, password or "") if row.username else None
            return caldav_busy(row.url, first, last, auth=auth)
        return published_busy(row.url, first, last)

    return read


read_busy = busy_reader()  # no password: calendars open to the user name alone


def staff_person(
    session: Session,
    staff_id: int,
    *,
    first: dt.date,
    last: dt.date,
    busy_reader: BusyReader | None = None,
    extra_busy: Iterable[Busy] = (),
) -> Person:
    """A staff member as the solver sees one: working hours (none stored: the opening
    hours), fixed commitments, and busy times from her calendars."""
    hours_rows = list(session.exec(select(StaffHoursRow).where(StaffHoursRow.staff_id == staff_id)))
    hours = {r.weekday: TimeRange(r.start_time, r.end_time) for r in hours_rows} or None
    busy = list(extra_busy)
    if busy_reader is not None:
        for cal in session.exec(
            select(StaffCalendarRow).where(StaffCalendarRow.staff_id == staff_id)
        ):
            busy.extend(busy_reader(cal, first, last))
    commitments = tuple(to_commitment(r) for r in commitments_of(session, staff_id=staff_id))
    return Person(f"staff:{staff_id}", commitments=commitments, busy=tuple(busy), hours=hours)


def citizen_person(session: Session, citizen_id: int, ref: str) -> Person:
    commitments = tuple(to_commitment(r) for r in commitments_of(session, citizen_id=citizen_id))
    return Person(ref, commitments=commitments)


# --- contacts of an enrollment (personal data) -------------------------------------------


@dataclass(frozen=True)
class Contact:
    id: int
    enrollment_id: int
    role: str
    name: str
    email: str
    organisation: str | None

    def __repr__(self) -> str:  # never print personal data by accident
        return f"Contact(id={self.id}, role={self.role!r}, ...)"


def add_contact(
    session: Session,
    enrollment_id: int,
    *,
    role: str,
    name: str,
    email: str,
    organisation: str | None,
    at: dt.datetime,
    actor: str,
) -> EnrollmentContactRow:
    from iba_workflow.errors import MailError
    from iba_workflow.mail.invitations import check_address

    if session.get(EnrollmentRow, enrollment_id) is None:
        raise NotFound(f"no enrollment {enrollment_id}", hint="iba status")
    try:
        check_address(email)
    except MailError:
        raise ScheduleError(
            f"not an e-mail address: {email!r}", hint="give a bare address: navn@firma.dk"
        ) from None
    if not name.strip() or not role.strip():
        raise ScheduleError("a contact needs a name and a role", hint="--role leder --name ...")
    row = EnrollmentContactRow(
        enrollment_id=enrollment_id,
        role=role,
        name=name.strip(),
        email=email,
        organisation=organisation,
        created_at=at,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        at=at,
        actor=actor,
        action="contact_added",
        entity="enrollment_contact",
        entity_id=row.id,
        enrollment_id=enrollment_id,
        role=role,
    )
    return row


def read_contacts(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    purpose: str,
    enrollment_id: int | None = None,
    ids: Iterable[int] = (),
) -> list[Contact]:
    """The only way to read contacts: every read is written to the audit log (ids only)."""
    query = select(EnrollmentContactRow).order_by(col(EnrollmentContactRow.id))
    wanted = list(ids)
    if enrollment_id is not None:
        query = query.where(EnrollmentContactRow.enrollment_id == enrollment_id)
    if wanted:
        query = query.where(col(EnrollmentContactRow.id).in_(wanted))
    rows = list(session.exec(query))
    if wanted and len(rows) != len(set(wanted)):
        missing = sorted(set(wanted) - {pk(r) for r in rows})
        raise NotFound(f"no contact {missing[0]}", hint="iba schedule contact list ENROLLMENT")
    for r in rows:
        audit(
            session,
            at=at,
            actor=actor,
            action="read_contact",
            entity="enrollment_contact",
            entity_id=r.id,
            enrollment_id=r.enrollment_id,
            purpose=purpose,
        )
    session.flush()
    return [Contact(pk(r), r.enrollment_id, r.role, r.name, r.email, r.organisation) for r in rows]
