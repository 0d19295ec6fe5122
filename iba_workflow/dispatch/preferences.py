"""Who wants what how: per staff member and kind, ``digest`` (in the morning digest) or
``immediate`` (a mail of its own, in working hours). Unset kinds follow
``Settings.notify_default``. Set by ``iba staff notify`` and on the workspace page
``/mine-notifikationer``.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from iba_workflow.errors import InvalidInput
from iba_workflow.store.tables import NotificationPreferenceRow

#: The kinds a person can choose for, with what they are (Danish, for people).
KINDS: dict[str, str] = {
    "new_task": "nye opgaver",
    "reminder": "påmindelser",
    "escalation": "eskaleringer (forfaldne opgaver hos andre)",
    "meeting_invitation": "nye møder (mail med kalenderinvitation)",
    "change": "flyttede møder og opgaver",
    "cancellation": "aflyste møder og opgaver",
    "enrollment_ended": "afsluttede forløb",
}
MODES = ("digest", "immediate")


def preferences_of(session: Session, staff_id: int, default: str) -> dict[str, str]:
    """Every kind with the mode that holds for ``staff_id``."""
    chosen = {
        p.kind: p.mode
        for p in session.exec(
            select(NotificationPreferenceRow).where(NotificationPreferenceRow.staff_id == staff_id)
        )
    }
    return {kind: chosen.get(kind, default) for kind in KINDS}


def set_preference(
    session: Session, *, staff_id: int, kind: str, mode: str, now: dt.datetime
) -> None:
    """Store one choice (flushes; the caller commits)."""
    if kind not in KINDS:
        raise InvalidInput(f"no notification kind '{kind}'", hint="kinds: " + ", ".join(KINDS))
    if mode not in MODES:
        raise InvalidInput(f"no mode '{mode}'", hint="modes: digest, immediate")
    row = session.exec(
        select(NotificationPreferenceRow).where(
            NotificationPreferenceRow.staff_id == staff_id, NotificationPreferenceRow.kind == kind
        )
    ).first()
    if row is None:
        row = NotificationPreferenceRow(staff_id=staff_id, kind=kind, mode=mode, updated_at=now)
    row.mode, row.updated_at = mode, now
    session.add(row)
    session.flush()


class Preferences:
    """Modes per staff member, read once per dispatcher pass."""

    def __init__(self, session: Session, default: str) -> None:
        self._session = session
        self._default = default
        self._found: dict[int, dict[str, str]] = {}

    def load(self, staff_ids: list[int]) -> None:
        """Read the choices of many people in one query."""
        chosen: dict[int, dict[str, str]] = {i: {} for i in staff_ids}
        rows = self._session.exec(
            select(NotificationPreferenceRow).where(
                col(NotificationPreferenceRow.staff_id).in_(staff_ids)
            )
        )
        for p in rows:
            chosen[p.staff_id][p.kind] = p.mode
        for staff_id, kinds in chosen.items():
            self._found[staff_id] = {k: kinds.get(k, self._default) for k in KINDS}

    def wants_digest(self, staff_id: int) -> bool:
        """Does this person get a morning digest (some kind is left to it)?"""
        self.mode(staff_id, "new_task")
        return "digest" in self._found[staff_id].values()

    def mode(self, staff_id: int, kind: str) -> str:
        if staff_id not in self._found:
            self._found[staff_id] = preferences_of(self._session, staff_id, self._default)
        return self._found[staff_id].get(kind, self._default)
