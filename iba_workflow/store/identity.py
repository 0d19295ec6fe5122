"""Who is asking: staff sessions, e-mail sign-in tokens, API keys, and which
interventions a coordinator coordinates (issue 10). Read and written by
``iba_workflow.identity``; only hashes of secrets are stored (session ids, sign-in
tokens, API keys are SHA-256 hex here and exist in plain only in a cookie, a mail or
the one answer that showed them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime


def _staff_fk(*, index: bool = True, nullable: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id"), nullable=nullable, index=index),
    )


class StaffSessionRow(SQLModel, table=True):
    """A signed-in browser. Revocable: ``ended_at`` set means it no longer works."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    sid_hash: str = Field(unique=True)
    staff_id: int = _staff_fk()
    method: str  # email / oidc
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)  # the absolute lifetime
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_reason: str | None = None  # signed_out / signed_out_everywhere / idle / ...


class SignInTokenRow(SQLModel, table=True):
    """A sign-in link sent by mail: short-lived, single use (conditional UPDATE)."""

    __tablename__ = "sign_in_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    staff_id: int = _staff_fk()
    outbox_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyRow(SQLModel, table=True):
    """An API credential: shown once at creation, kept here only as a hash."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(unique=True)
    label: str  # the key's first characters, to tell keys apart in a list
    name: str
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_by: str
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffCoordinatesRow(SQLModel, table=True):
    """A coordinator (IBA) coordinates an intervention (definition id) in her
    municipality; the policy lets her see and act on its enrollments."""

    __tablename__ = "staff_coordinates"
    __table_args__ = (UniqueConstraint("staff_id", "definition_id"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = _staff_fk()
    definition_id: str
