"""Link tokens in the store (``link_token``): issue, look up, mark used.

Only the SHA-256 of a token is stored; :func:`issue_step_link` returns the plain token
once, for the mail. :func:`mark_link_used` changes the row in the caller's transaction,
so the web layer calls it and then ``engine.complete_step`` in one unit of work (the
request commits both, or neither). A conditional UPDATE makes a second, concurrent use lose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import update
from sqlmodel import Session, col, select

from iba_workflow.store.tables import LinkTokenRow, StaffRow

from .tokens import DEFAULT_TTL, hash_token, issue_link, looks_like_token

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult


@dataclass(frozen=True)
class StoredLink:
    """A new link: ``token`` goes into the mail and nowhere else."""

    token: str
    link_id: int
    expires_at: dt.datetime

    def __repr__(self) -> str:  # never print the plain token
        return f"StoredLink(link_id={self.link_id}, expires_at={self.expires_at.isoformat()})"


def issue_step_link(
    session: Session,
    *,
    step_instance_id: int,
    staff_id: int,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
    outbox_id: int | None = None,
    flush: bool = True,
) -> StoredLink:
    """Add a link row for (step instance, staff member); flushes, does not commit. With
    ``flush=False`` the row is written at the caller's next flush or commit (a batch of
    mails writes its links in one go) and ``link_id`` is 0."""
    issued = issue_link(step_instance_id=step_instance_id, staff_id=staff_id, now=now, ttl=ttl)
    row = LinkTokenRow(
        token_hash=issued.token_hash,
        step_instance_id=step_instance_id,
        staff_id=staff_id,
        outbox_id=outbox_id,
        created_at=now,
        expires_at=issued.expires_at,
    )
    session.add(row)
    if flush:
        session.flush()
    return StoredLink(token=issued.token, link_id=row.id or 0, expires_at=issued.expires_at)


def find_link(session: Session, token: str) -> LinkTokenRow | None:
    """The stored link for a presented token, or None (wrong shape, unknown, altered)."""
    if not looks_like_token(token):
        return None
    return session.exec(
        select(LinkTokenRow).where(LinkTokenRow.token_hash == hash_token(token))
    ).first()


def mark_link_used(
    session: Session, link: LinkTokenRow, *, staff_id: int, now: dt.datetime
) -> bool:
    """Mark ``link`` used in the caller's transaction. False if it was used already."""
    result = session.execute(
        update(LinkTokenRow)
        .where(col(LinkTokenRow.id) == link.id, col(LinkTokenRow.used_at).is_(None))
        .values(used_at=now, used_by_staff_id=staff_id)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


def used_by(session: Session, link: LinkTokenRow) -> StaffRow | None:
    """Who used ``link`` (a staff member), if anyone."""
    if link.used_by_staff_id is None:
        return None
    return session.get(StaffRow, link.used_by_staff_id)
