"""The schedule's tables (migration 0011): fixed commitments, staff working hours and
calendars, contacts of an enrollment (personal data: read through the audited accessor in
``schedule.contacts``), meetings with several attendees, saved placements and the
subscription feeds (only the hash of a feed's secret is kept)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from iba_workflow.store.types import UTCDateTime


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target), nullable=nullable, index=index),
    )


class CommitmentRow(SQLModel, table=True):
    """A fixed commitment of a citizen or a staff member: weekly (``weekday`` 0–6, from/to)
    or once (``on_date``). ``source_uid``: the UID of an imported .ics event, so importing
    the same file again changes nothing."""

    __tablename__ = "schedule_commitment"

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int | None = _fk("citizen.id", nullable=True)
    staff_id: int | None = _fk("staff.id", nullable=True)
    label: str
    weekday: int | None = None
    on_date: dt.date | None = None
    start_time: dt.time
    end_time: dt.time
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    counts_toward_hours: bool = False
    source: str = "cli"  # cli / ics
    source_uid: str | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class StaffHoursRow(SQLModel, table=True):
    __tablename__ = "staff_hours"
    __table_args__ = (UniqueConstraint("staff_id", "weekday"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = _fk("staff.id", index=False)
    weekday: int
    start_time: dt.time
    end_time: dt.time


class StaffCalendarRow(SQLModel, table=True):
    """Where a staff member's busy times are read: a CalDAV calendar collection or a
    published iCalendar URL (Outlook / Microsoft 365, Google)."""

    __tablename__ = "staff_calendar"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = _fk("staff.id")
    kind: str  # caldav / ics_url
    url: str
    username: str | None = None
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class EnrollmentContactRow(SQLModel, table=True):
    """An external attendee of an enrollment's meetings (the company's manager, a mentor).
    Personal data: read only through ``schedule.contacts.read_contacts`` (audited)."""

    __tablename__ = "enrollment_contact"

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    role: str
    name: str
    email: str
    organisation: str | None = None
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class MeetingRow(SQLModel, table=True):
    """A meeting with several attendees: proposed slots, then one booked (by the
    coordinator, or the first proposal once ``deadline`` has passed)."""

    __tablename__ = "schedule_meeting"

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int | None = _fk("enrollment.id", nullable=True)
    title: str
    minutes: int
    staff_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    contact_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    citizen_attends: bool = True
    proposals: list[str] = Field(default_factory=list, sa_type=JSON)  # ISO instants, UTC
    status: str = Field(default="proposed", index=True)  # proposed / booked / cancelled
    start: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    end: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    place: str | None = None
    deadline: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    sequence: int = 0
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    booked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class PlacementRow(SQLModel, table=True):
    """A saved placement of the solver, one row per person (``person`` is a citizen's
    opaque ref or ``staff:<id>``), so a feed reads a person's week with one query."""

    __tablename__ = "schedule_placement"

    id: int | None = Field(default=None, primary_key=True)
    definition_id: str = Field(index=True)
    week: dt.date = Field(index=True)
    person: str = Field(index=True)
    key: str
    name: str
    kind: str
    start: dt.datetime = Field(sa_type=UTCDateTime)
    end: dt.datetime = Field(sa_type=UTCDateTime)


class FeedRow(SQLModel, table=True):
    """A secret .ics subscription URL of one citizen or staff member. Only the SHA-256 of
    the secret is kept; a revoked feed answers 404."""

    __tablename__ = "schedule_feed"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    citizen_id: int | None = _fk("citizen.id", nullable=True)
    staff_id: int | None = _fk("staff.id", nullable=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
