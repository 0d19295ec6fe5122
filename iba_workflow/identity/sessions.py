"""Server-side staff sessions (table ``staff_session``).

The browser holds a random session id (256 bits) in a cookie: ``HttpOnly``,
``SameSite=Lax``, ``Secure`` and ``__Host-`` prefixed when ``IBA_BASE_URL`` is https.
Only the SHA-256 of the id is stored. A session ends after ``IBA_SESSION_IDLE_MINUTES``
without a request, ``IBA_SESSION_ABSOLUTE_HOURS`` after sign-in, at sign-out, or when
its owner signs out everywhere. Every sign-in starts a new id.

Public API (stable; other sign-in methods build on it):

- :func:`start_session` — after a proven sign-in; returns the raw id for the cookie.
- :func:`set_session_cookie` / :func:`clear_session_cookie` — on a response.
- :func:`signed_in_staff` — a FastAPI dependency: the signed-in :class:`SignedIn`, or a
  redirect to ``/log-ind`` (raises :class:`SignInRequired`, answered by the app).
- :func:`optional_staff` — the same, or ``None``.
- :func:`end_session`, :func:`end_all_sessions` — sign-out, sign-out everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request, Response
from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from iba_workflow.settings import Settings
from iba_workflow.store.identity import StaffSessionRow
from iba_workflow.store.records import audit
from iba_workflow.store.tables import StaffRow

from .context import identity_of

SIGN_IN_PATH = "/log-ind"


class SignInRequired(Exception):
    """No valid session: the app answers a page request with a redirect to ``/log-ind``."""


def is_secure(settings: Settings) -> bool:
    return settings.base_url.lower().startswith("https://")


def cookie_name(settings: Settings) -> str:
    """``__Host-iba_session`` behind https (the browser then insists on Secure, Path=/
    and no Domain), else ``iba_session``."""
    return "__Host-iba_session" if is_secure(settings) else "iba_session"


def hash_session_id(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", errors="replace")).hexdigest()


def idle_timeout(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.session_idle_minutes)


def absolute_lifetime(settings: Settings) -> dt.timedelta:
    return dt.timedelta(hours=settings.session_absolute_hours)


def start_session(
    db_session: Session,
    *,
    staff_id: int,
    now: dt.datetime,
    settings: Settings,
    method: str = "email",
) -> str:
    """A new session for ``staff_id`` (added and flushed; the caller commits). Returns
    the raw session id, to be set as the cookie and kept nowhere else."""
    sid = secrets.token_urlsafe(32)
    db_session.add(
        StaffSessionRow(
            sid_hash=hash_session_id(sid),
            staff_id=staff_id,
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + absolute_lifetime(settings),
        )
    )
    audit(
        db_session,
        at=now,
        actor=f"staff:{staff_id}",
        action="signed_in",
        entity="staff",
        entity_id=staff_id,
        method=method,
    )
    db_session.flush()
    return sid


def set_session_cookie(response: Response, sid: str, settings: Settings) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind https; no Max-Age (a
    browser session cookie; the server decides when the session ends)."""
    response.set_cookie(
        cookie_name(settings),
        sid,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings), path="/", httponly=True, samesite="lax", secure=is_secure(settings)
    )


@dataclass(frozen=True)
class SignedIn:
    """A signed-in staff member and the session the request came with."""

    staff: StaffRow
    session_row_id: int
    sid_hash: str
    expires_at: dt.datetime

    @property
    def staff_id(self) -> int:
        return int(self.staff.id or 0)

    def __repr__(self) -> str:  # the hash is no secret, but keep logs short
        return f"SignedIn(staff_id={self.staff_id}, session={self.session_row_id})"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def resume_session(
    db_session: Session, sid: str | None, *, now: dt.datetime, settings: Settings
) -> SignedIn | None:
    """The session behind a cookie value, if it still holds; records this use (the
    caller commits). An idle or outlived session is ended here and gives ``None``."""
    if not sid or len(sid) > 128:
        return None
    row = db_session.exec(
        select(StaffSessionRow).where(StaffSessionRow.sid_hash == hash_session_id(sid))
    ).first()
    if row is None or row.ended_at is not None:
        return None
    reason = None
    if now >= _aware(row.expires_at):
        reason = "expired"
    elif now - _aware(row.last_seen_at) >= idle_timeout(settings):
        reason = "idle"
    staff = db_session.get(StaffRow, row.staff_id)
    if reason is None and (staff is None or not staff.active):
        reason = "staff_inactive"
    if reason is not None:
        _end(db_session, col(StaffSessionRow.id) == row.id, now=now, reason=reason)
        return None
    assert staff is not None
    row.last_seen_at = now
    db_session.add(row)
    db_session.flush()
    return SignedIn(staff, int(row.id or 0), row.sid_hash, _aware(row.expires_at))


def _end(db_session: Session, where: Any, *, now: dt.datetime, reason: str) -> int:
    result = db_session.execute(
        update(StaffSessionRow)
        .where(where, col(StaffSessionRow.ended_at).is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def end_session(db_session: Session, signed_in: SignedIn, *, now: dt.datetime) -> None:
    """Sign out this browser (the caller commits)."""
    _end(
        db_session,
        col(StaffSessionRow.id) == signed_in.session_row_id,
        now=now,
        reason="signed_out",
    )
    audit(
        db_session,
        at=now,
        actor=f"staff:{signed_in.staff_id}",
        action="signed_out",
        entity="staff",
        entity_id=signed_in.staff_id,
    )


def end_all_sessions(db_session: Session, staff_id: int, *, now: dt.datetime) -> int:
    """Sign ``staff_id`` out everywhere; how many sessions ended (the caller commits)."""
    n = _end(
        db_session,
        col(StaffSessionRow.staff_id) == staff_id,
        now=now,
        reason="signed_out_everywhere",
    )
    audit(
        db_session,
        at=now,
        actor=f"staff:{staff_id}",
        action="signed_out_everywhere",
        entity="staff",
        entity_id=staff_id,
        sessions=n,
    )
    return n


def optional_staff(request: Request) -> SignedIn | None:
    """FastAPI dependency: the signed-in staff member, or ``None`` (no redirect)."""
    ident = identity_of(request)
    sid = request.cookies.get(cookie_name(ident.settings))
    if not sid:
        return None
    with ident.session_factory() as db:
        found = resume_session(db, sid, now=ident.clock.now(), settings=ident.settings)
        db.commit()
    return found


def signed_in_staff(request: Request) -> SignedIn:
    """FastAPI dependency: the signed-in staff member; without a valid session the app
    redirects the browser to ``/log-ind``."""
    found = optional_staff(request)
    if found is None:
        raise SignInRequired()
    return found
