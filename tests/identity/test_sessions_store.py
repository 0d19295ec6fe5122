"""Sessions in the store: a new id per sign-in, only its hash kept, idle and absolute
expiry on a moved clock, sign-out everywhere (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from iba_workflow.identity.sessions import (
    end_all_sessions,
    hash_session_id,
    resume_session,
    start_session,
)
from iba_workflow.settings import Settings
from iba_workflow.store.tables import StaffRow

T0 = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)
SETTINGS = Settings(secret_key=SecretStr("k" * 32))


def _staff(open_session: Any, email: str = "a@jobcenter.test") -> int:
    with open_session() as s:
        row = StaffRow(name="A", email=email, roles=["iba"], municipality="x", created_at=T0)
        s.add(row)
        s.commit()
        return int(row.id)


def test_a_session_id_is_new_each_time_and_stored_only_as_a_hash(open_session: Any) -> None:
    staff = _staff(open_session)
    with open_session() as s:
        one = start_session(s, staff_id=staff, now=T0, settings=SETTINGS)
        two = start_session(s, staff_id=staff, now=T0, settings=SETTINGS)
        s.commit()
        stored = s.execute(text("SELECT * FROM staff_session")).all()
    assert one != two and len(one) >= 43
    dump = repr(stored)
    assert one not in dump and two not in dump
    assert hash_session_id(one) in dump


def test_idle_timeout_ends_a_session_and_use_keeps_it_alive(open_session: Any) -> None:
    staff = _staff(open_session)
    with open_session() as s:
        sid = start_session(s, staff_id=staff, now=T0, settings=SETTINGS)
        s.commit()
    now = T0
    for _ in range(4):  # used every 29 minutes: still signed in after ~2 hours
        now += dt.timedelta(minutes=29)
        with open_session() as s:
            assert resume_session(s, sid, now=now, settings=SETTINGS) is not None
            s.commit()
    with open_session() as s:
        assert resume_session(s, sid, now=now + dt.timedelta(minutes=30), settings=SETTINGS) is None
        s.commit()
    with open_session() as s:  # and it stays ended
        assert resume_session(s, sid, now=now + dt.timedelta(minutes=1), settings=SETTINGS) is None
        reason = s.execute(text("SELECT ended_reason FROM staff_session")).scalar_one()
    assert reason == "idle"


def test_absolute_lifetime_ends_a_session_in_use(open_session: Any) -> None:
    staff = _staff(open_session)
    with open_session() as s:
        sid = start_session(s, staff_id=staff, now=T0, settings=SETTINGS)
        s.commit()
    now = T0
    while now < T0 + dt.timedelta(hours=8) - dt.timedelta(minutes=20):
        now += dt.timedelta(minutes=20)
        with open_session() as s:
            assert resume_session(s, sid, now=now, settings=SETTINGS) is not None
            s.commit()
    with open_session() as s:
        later = T0 + dt.timedelta(hours=8)
        assert resume_session(s, sid, now=later, settings=SETTINGS) is None
        s.commit()


def test_sign_out_everywhere_ends_only_the_owners_sessions(open_session: Any) -> None:
    a, b = _staff(open_session), _staff(open_session, "b@jobcenter.test")
    with open_session() as s:
        a1 = start_session(s, staff_id=a, now=T0, settings=SETTINGS)
        a2 = start_session(s, staff_id=a, now=T0, settings=SETTINGS)
        b1 = start_session(s, staff_id=b, now=T0, settings=SETTINGS)
        s.commit()
    with open_session() as s:
        assert end_all_sessions(s, a, now=T0) == 2
        s.commit()
    with open_session() as s:
        assert resume_session(s, a1, now=T0, settings=SETTINGS) is None
        assert resume_session(s, a2, now=T0, settings=SETTINGS) is None
        assert resume_session(s, b1, now=T0, settings=SETTINGS) is not None


def test_the_access_log_never_shows_a_sign_in_token() -> None:
    import logging

    from iba_workflow.identity.logfilter import SignInTokenFilter

    token = "-w1w1jBsk-prqX_YWuBSwEoj11wrWXZFAshZCpo-Rxo"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/log-ind/{token}?x=1", "1.1", 200), None,
    )  # fmt: skip
    assert SignInTokenFilter().filter(record)
    line = record.getMessage()
    assert token not in line and "/log-ind/<token>?x=1" in line


def test_a_deactivated_staff_members_sessions_stop_working(open_session: Any) -> None:
    staff = _staff(open_session)
    with open_session() as s:
        sid = start_session(s, staff_id=staff, now=T0, settings=SETTINGS)
        s.commit()
    with open_session() as s:
        row = s.get(StaffRow, staff)
        assert row is not None
        row.active = False
        s.add(row)
        s.commit()
    with open_session() as s:
        assert resume_session(s, sid, now=T0, settings=SETTINGS) is None
        s.commit()
        reason = s.execute(text("SELECT ended_reason FROM staff_session")).scalar_one()
    assert reason == "staff_inactive"
