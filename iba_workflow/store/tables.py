"""The record: SQLModel tables. Citizens are an opaque id everywhere; who they are
(name, CPR, contact) lives only in ``citizen_identity``, read through an audited accessor.

Every schema change goes through an Alembic migration in ``store/migrations``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlmodel import Field, SQLModel

from iba_workflow.identity.oidc_state import OidcLoginRow  # noqa: F401  (oidc_login: issue 10)
from iba_workflow.privacy.columns import EncryptedText, keep_cpr_hmac

from .identity import (  # noqa: F401  (sessions, sign-in, API keys: issue 10)
    ApiKeyRow,
    SignInTokenRow,
    StaffCoordinatesRow,
    StaffSessionRow,
)
from .requests import VisitationRequestRow  # noqa: F401  (visitation_request: issue 4)
from .types import UTCDateTime

STEP_STATUSES = ("planned", "due", "notified", "completed", "skipped", "cancelled")
OPEN_STEP_STATUSES = ("planned", "due", "notified")
DONE_STEP_STATUSES = ("completed", "skipped", "cancelled")
ENROLLMENT_STATUSES = ("waiting", "active", "ended", "exited", "completed")
#: ``new``: written by the engine, not yet routed (``dispatch.route``); ``held``: waits
#: for the recipient's morning digest; ``folded``: carried by the digest or bundle row
#: ``carried_by``; ``dropped``: never sent (e.g. a cancellation of something never
#: announced to that person; the reason is in ``last_error``).
OUTBOX_STATUSES = (
    "new",
    "held",
    "folded",
    "dropped",
    "pending",
    "sending",
    "sent",
    "failed",
    "dead",
)


#: the condition of ``ix_outbox_claimable`` (the statuses ``store.outbox._claimable`` takes)
CLAIMABLE = "status IN ('pending', 'failed', 'sending')"


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target), nullable=nullable, index=index),
    )


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(unique=True)
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    municipality: str = Field(index=True)
    active: bool = True
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class StaffCoverRow(SQLModel, table=True):
    """A colleague covers a staff member's tasks for a period (holiday, illness): the
    dispatcher sends what would go to ``staff_id`` to ``cover_staff_id`` on those days."""

    __tablename__ = "staff_cover"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = _fk("staff.id")
    cover_staff_id: int = _fk("staff.id", index=False)
    first_day: dt.date
    last_day: dt.date
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class CitizenRow(SQLModel, table=True):
    """A citizen as the engine sees one: an opaque reference, nothing more."""

    __tablename__ = "citizen"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, description="Opaque reference, never a CPR number.")
    municipality: str
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class CitizenIdentityRow(SQLModel, table=True):
    """Personal data. Read only through ``store.records.read_citizen_identity`` (audited).
    Every field is encrypted at rest (``privacy.columns``); ``cpr_hmac`` is the keyed
    digest that equality lookups use, kept in step by a mapper event."""

    __tablename__ = "citizen_identity"

    citizen_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("citizen.id"), primary_key=True)
    )
    name: str | None = Field(default=None, sa_type=EncryptedText)
    cpr: str | None = Field(default=None, sa_type=EncryptedText)
    email: str | None = Field(default=None, sa_type=EncryptedText)
    phone: str | None = Field(default=None, sa_type=EncryptedText)
    cpr_hmac: str | None = Field(default=None, index=True)


keep_cpr_hmac(CitizenIdentityRow)


class DefinitionVersionRow(SQLModel, table=True):
    """Every definition version ever used, so enrollments stay pinned to theirs."""

    __tablename__ = "definition_version"
    __table_args__ = (UniqueConstraint("definition_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    definition_id: str = Field(index=True)
    version: int
    content_hash: str
    body: dict[str, Any] = Field(sa_type=JSON)
    deployed_at: dt.datetime = Field(sa_type=UTCDateTime)


class CohortRow(SQLModel, table=True):
    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("definition_id", "cohort_key"),)

    id: int | None = Field(default=None, primary_key=True)
    definition_id: str
    cohort_key: str
    start: dt.date
    capacity: int


class VisitationRow(SQLModel, table=True):
    __tablename__ = "visitation"

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = _fk("citizen.id")
    definition_id: str
    definition_version: int
    held_on: dt.date
    decision: str  # accepted / rejected / waiting
    reason: str | None = None
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    decided_by: int | None = _fk("staff.id", nullable=True, index=False)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class EnrollmentRow(SQLModel, table=True):
    __tablename__ = "enrollment"
    # refusing a second enrollment asks for (citizen, definition): one index probe
    __table_args__ = (Index("ix_enrollment_citizen_definition", "citizen_id", "definition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = _fk("citizen.id")
    visitation_id: int = _fk("visitation.id")
    definition_id: str = Field(index=True)
    definition_version: int
    content_hash: str
    municipality: str
    start: dt.date
    visitation_on: dt.date
    cohort_id: int | None = _fk("cohort.id", nullable=True)
    status: str = Field(index=True)
    duration_weeks: int | None = None
    adjustments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    weekdays: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSON)
    ended_on: dt.date | None = None
    ended_reason: str | None = None
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)


class EnrollmentStaffRow(SQLModel, table=True):
    """Who holds a role for one enrollment (else: the first staff member with the role)."""

    __tablename__ = "enrollment_staff"
    __table_args__ = (UniqueConstraint("enrollment_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    role: str
    staff_id: int = _fk("staff.id", index=False)


#: The condition of ``ix_step_instance_open_work``: a query uses that index only if it says
#: exactly this (a literal, not a bound parameter): see :func:`not_a_lesson`.
NOT_A_LESSON = "kind != 'session'"


class StepInstanceRow(SQLModel, table=True):
    __tablename__ = "step_instance"
    # the dispatcher's questions (store/queries.py): open steps by status and a date,
    # read in date order from the index instead of sorted in a temporary B-tree
    __table_args__ = (
        UniqueConstraint("enrollment_id", "key"),
        Index("ix_step_instance_status_due", "status", "due_date", "id"),  # also Min uge
        Index("ix_step_instance_status_remind", "status", "remind_from"),
        # the reminders a tick has not yet handled (engine.due): only the steps whose next
        # reminder date has come, not every open step inside its reminder window
        Index("ix_step_instance_status_next_reminder", "status", "next_reminder"),
        Index("ix_step_instance_status_escalation", "status", "escalation_date"),
        # the workspace's questions (Min uge, Forløb): a person's open work by date. Partial
        # (the weekly lessons are most rows and never a person's task) and covering the
        # columns the "is it mine?" test reads, so the rows themselves are not visited.
        Index(
            "ix_step_instance_open_work",
            "status",
            "due_date",
            "id",
            "enrollment_id",
            "assignee_role",
            "assigned_staff_id",
            sqlite_where=text(NOT_A_LESSON),
            postgresql_where=text(NOT_A_LESSON),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    key: str
    step_id: str
    kind: str
    name: str
    period: int = 1
    branch: str | None = None  # "step:outcome" that made the step exist
    due_date: dt.date = Field(index=True)
    due_time: dt.time | None = None
    assignee_role: str
    assigned_staff_id: int | None = _fk("staff.id", nullable=True, index=False)
    attendee_roles: list[str] = Field(default_factory=list, sa_type=JSON)
    depends_on: list[str] = Field(default_factory=list, sa_type=JSON)
    reminders: list[str] = Field(default_factory=list, sa_type=JSON)  # ISO dates
    remind_from: dt.date | None = None  # earliest reminder (ix_step_instance_status_remind)
    #: the earliest reminder date the dispatcher has not yet handled (sent, or covered by
    #: the task's first mail): set to ``remind_from`` when the step is planned or moved,
    #: moved on by the tick that handles a reminder (``engine.due``)
    next_reminder: dt.date | None = None
    escalation_date: dt.date | None = Field(default=None, index=True)
    escalation_role: str | None = None
    status: str = Field(index=True)
    revision: int = 1
    template: str | None = None
    #: a per_group step's occurrence, shared by every member's instance (issue 12)
    group_key: str | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)


def not_a_lesson() -> Any:
    """``step_instance.kind != 'session'`` with the literal in the SQL, so that SQLite and
    PostgreSQL see it implies the condition of ``ix_step_instance_open_work``."""
    return StepInstanceRow.kind != literal_column("'session'")  # type: ignore[comparison-overlap]


class CompletionRow(SQLModel, table=True):
    __tablename__ = "completion"

    id: int | None = Field(default=None, primary_key=True)
    step_instance_id: int = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("step_instance.id"), nullable=False, unique=True),
    )
    by_staff_id: int | None = _fk("staff.id", nullable=True, index=False)
    channel: str
    completed_at: dt.datetime = Field(sa_type=UTCDateTime)
    completed_on: dt.date
    skipped: bool = False
    outcome: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutcomeRow(SQLModel, table=True):
    __tablename__ = "outcome"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_key"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    step_instance_id: int = _fk("step_instance.id", index=False)
    step_key: str
    outcome: str
    decided_on: dt.date


class MeasurementRow(SQLModel, table=True):
    __tablename__ = "measurement"

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    step_instance_id: int = _fk("step_instance.id", index=False)
    dimension: str
    value: float
    health: bool = False
    measured_on: dt.date


class AttendanceRow(SQLModel, table=True):
    __tablename__ = "attendance"

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = _fk("enrollment.id")
    step_instance_id: int | None = _fk("step_instance.id", nullable=True, index=False)
    day: dt.date
    present: bool
    reason: str | None = None
    recorded_at: dt.datetime = Field(sa_type=UTCDateTime)


class ConsentRow(SQLModel, table=True):
    """Consent to record health data (sundhedsloven § 15); the latest row for a citizen
    and scope is what holds."""

    __tablename__ = "consent"

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = _fk("citizen.id")
    scope: str = "health"
    given: bool
    by_staff_id: int | None = _fk("staff.id", nullable=True, index=False)
    at: dt.datetime = Field(sa_type=UTCDateTime)


class AuditRow(SQLModel, table=True):
    """Append-only: triggers refuse UPDATE and DELETE (see the first migration)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    enrollment_id: int | None = Field(default=None, index=True)
    citizen_id: int | None = Field(default=None, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxRow(SQLModel, table=True):
    """A notification to send. The payload never holds personal data: ids and step facts."""

    __tablename__ = "outbox"
    # claiming: sendable rows by status and the time they may be tried; the claimable ones
    # in id order (partial: the claim's oldest-first scan skips the sent history)
    __table_args__ = (
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index(
            "ix_outbox_claimable",
            "id",
            sqlite_where=text(CLAIMABLE),
            postgresql_where=text(CLAIMABLE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)
    kind: str
    recipient_staff_id: int = _fk("staff.id")
    step_instance_id: int | None = _fk("step_instance.id", nullable=True)
    enrollment_id: int | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = None
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    carried_by: int | None = Field(default=None, index=True)  # the digest row (status folded)


class LinkTokenRow(SQLModel, table=True):
    """A link in a mail: only the SHA-256 of the token is kept (see ``links.store``).
    Bound to one step instance and one staff member; expires; used once."""

    __tablename__ = "link_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    step_instance_id: int = _fk("step_instance.id")
    staff_id: int = _fk("staff.id", index=False)
    outbox_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_staff_id: int | None = _fk("staff.id", nullable=True, index=False)


class MeetingInvitationRow(SQLModel, table=True):
    """The .ics state of one meeting per recipient: the last SEQUENCE sent, so an update
    goes out with a higher one and a cancellation with one at least as high."""

    __tablename__ = "meeting_invitation"
    __table_args__ = (UniqueConstraint("step_instance_id", "staff_id"),)

    id: int | None = Field(default=None, primary_key=True)
    step_instance_id: int = _fk("step_instance.id", index=False)
    staff_id: int = _fk("staff.id", index=False)
    sequence: int = 0
    method: str = "REQUEST"  # REQUEST / CANCEL, as last sent
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)


from iba_workflow.schedule import tables as _schedule_tables  # noqa: E402, F401  (issue 12)


class NotificationPreferenceRow(SQLModel, table=True):
    """How one staff member wants one kind of notification: ``digest`` (in the morning
    digest; the default) or ``immediate`` (a mail of its own, in working hours). Urgent
    changes go at once whatever is chosen (``dispatch.route``)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("staff_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = _fk("staff.id")
    kind: str
    mode: str
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)


class CalendarFeedRow(SQLModel, table=True):
    """A staff member's calendar feed (``/kalender/<token>.ics``): only the SHA-256 of the
    secret token is kept; a new token replaces the old one, which stops working."""

    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False, unique=True)
    )
    token_hash: str = Field(unique=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
