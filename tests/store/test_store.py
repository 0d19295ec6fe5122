"""The store on SQLite and PostgreSQL: migrations match the models, the audit log is
append-only, personal data is read only through an audited accessor, and the outbox is
claimed under leases with backoff."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, select

from iba_workflow.mail.backoff import BackoffPolicy, retry_delay
from iba_workflow.store import tables as t
from iba_workflow.store import upgrade
from iba_workflow.store.db import current_revision
from iba_workflow.store.outbox import (
    claim_outbox_batch,
    enqueue,
    mark_failed,
    mark_sent,
)
from iba_workflow.store.records import audit, read_citizen_identity

NOW = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)


def _head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from iba_workflow.store.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_migrations_create_exactly_the_models(db_engine: Any) -> None:
    upgrade(db_engine)  # a second upgrade is a no-op
    assert current_revision(db_engine) == _head_revision()
    with db_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def test_sqlite_connections_use_wal_normal_sync_and_foreign_keys(db_engine: Any) -> None:
    if db_engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, in WAL


def test_instants_come_back_timezone_aware_utc(open_session: Any) -> None:
    local = dt.datetime(2027, 3, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with open_session() as s:
        s.add(t.StaffRow(name="A", email="a@x", roles=["iba"], municipality="m", created_at=local))
        s.commit()
    with open_session() as s:
        row = s.exec(select(t.StaffRow)).one()
        assert row.created_at == local and row.created_at.tzinfo == dt.UTC


def test_audit_log_refuses_update_and_delete(open_session: Any) -> None:
    with open_session() as s:
        audit(s, at=NOW, actor="test", action="x", entity="y")
        s.commit()
        for statement in ("UPDATE audit_log SET actor = 'other'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                s.execute(text(statement))
            s.rollback()
        assert s.exec(select(t.AuditRow)).one().actor == "test"


def test_identity_is_read_only_through_the_audited_accessor(open_session: Any) -> None:
    with open_session() as s:
        citizen = t.CitizenRow(ref="B-1", municipality="m", created_at=NOW)
        s.add(citizen)
        s.flush()
        s.add(t.CitizenIdentityRow(citizen_id=citizen.id, name="Amina", cpr="0101901234"))
        s.commit()
        who = read_citizen_identity(s, citizen.id, actor="staff:3", purpose="call", at=NOW)
        assert who.name == "Amina" and "Amina" not in repr(who) and "0101" not in repr(who)
        s.rollback()  # the read's audit row goes with the caller's transaction ...
        assert s.exec(select(t.AuditRow)).all() == []
        read_citizen_identity(s, citizen.id, actor="staff:3", purpose="call", at=NOW)
        s.commit()  # ... which a read-only request commits at its end
    with open_session() as s:
        reads = s.exec(select(t.AuditRow).where(t.AuditRow.action == "read_identity")).all()
        assert [(r.actor, r.citizen_id, r.details["purpose"]) for r in reads] == [
            ("staff:3", citizen.id, "call")
        ]


def _outbox(open_session: Any, n: int) -> None:
    with open_session() as s:
        staff = t.StaffRow(name="A", email="a@x", roles=["iba"], municipality="m", created_at=NOW)
        s.add(staff)
        s.flush()
        for i in range(n):
            enqueue(s, message_id=f"m{i}", kind="new_task", recipient_staff_id=staff.id, now=NOW)
        assert (
            enqueue(s, message_id="m0", kind="new_task", recipient_staff_id=staff.id, now=NOW)
            is None
        )
        s.commit()


def test_concurrent_dispatchers_never_claim_the_same_message(open_session: Any) -> None:
    _outbox(open_session, 60)
    claimed: dict[str, list[int]] = {}

    def dispatcher(owner: str) -> None:
        mine: list[int] = []
        with open_session() as s:
            while batch := claim_outbox_batch(s, owner, NOW, limit=7, lease_seconds=60):
                mine += [r.id for r in batch]
        claimed[owner] = mine

    threads = [threading.Thread(target=dispatcher, args=(f"d{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == 60 and len(set(every)) == 60


def test_expired_lease_is_claimed_again_and_the_old_owner_cannot_finish(open_session: Any) -> None:
    _outbox(open_session, 1)
    with open_session() as s:
        (row,) = claim_outbox_batch(s, "crashed", NOW, lease_seconds=60)
        assert claim_outbox_batch(s, "other", NOW + dt.timedelta(seconds=30)) == []
        later = NOW + dt.timedelta(seconds=61)
        (again,) = claim_outbox_batch(s, "other", later, lease_seconds=60)
        assert again.id == row.id and again.attempts == 2
        assert not mark_sent(s, row.id, "crashed", later)
        assert mark_sent(s, row.id, "other", later)
        s.expire_all()
        assert s.get(t.OutboxRow, row.id).status == "sent"


def test_failures_back_off_by_the_one_policy_then_the_message_is_dead(open_session: Any) -> None:
    """The outbox waits exactly what mail.backoff says (exponential, jitter, cap), and
    gives up after the policy's attempts."""
    _outbox(open_session, 1)
    policy = BackoffPolicy(max_attempts=3)
    now = NOW
    statuses = []
    waits = []
    with open_session() as s:
        for attempt in range(1, 4):
            (row,) = claim_outbox_batch(s, "d", now, max_attempts=3)
            statuses.append(mark_failed(s, row.id, "d", now, "421 try later", policy=policy))
            s.expire_all()
            waited = s.get(t.OutboxRow, row.id).next_attempt_at - now
            if attempt < 3:
                assert waited == retry_delay(attempt, message_id=row.message_id, policy=policy)
                assert claim_outbox_batch(s, "d", now + waited - dt.timedelta(seconds=1)) == []
                waits.append(waited.total_seconds())
            now += waited
        assert statuses == ["failed", "failed", "dead"]
        assert claim_outbox_batch(s, "d", now + dt.timedelta(days=30)) == []
    assert 24 <= waits[0] <= 30 and 48 <= waits[1] <= 60  # 30 s, 60 s less up to 20 % jitter


def test_the_claim_reads_the_claimable_rows_from_their_partial_index(db_engine: Any) -> None:
    """After a history of sent mail the claim reads only the claimable rows, oldest first:
    from ``ix_outbox_claimable``, not the primary key filtered over the whole history."""
    from sqlalchemy.dialects import postgresql, sqlite

    from iba_workflow.store.outbox import claim_candidates

    pg = db_engine.dialect.name == "postgresql"
    with db_engine.begin() as conn:
        conn.execute(
            t.StaffRow.__table__.insert().values(
                name="A", email="a@x", roles=[], municipality="m", active=True, created_at=NOW
            )
        )
        staff_id = conn.execute(text("SELECT MAX(id) FROM staff")).scalar()
        conn.execute(
            t.OutboxRow.__table__.insert(),
            [
                dict(
                    message_id=f"h{i}",
                    kind="new_task",
                    recipient_staff_id=staff_id,
                    payload={},
                    status="sent" if i < 2000 else "pending",
                    attempts=1,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
                for i in range(2010)
            ],
        )
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    query = claim_candidates(NOW, 5, skip_locked=pg)
    sql = str(
        query.compile(
            dialect=postgresql.dialect() if pg else sqlite.dialect(),
            compile_kwargs={"literal_binds": True},
        )
    )
    with db_engine.connect() as conn:
        plan = " ".join(
            str(r) for r in conn.execute(text(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + sql))
        )
        ids = conn.execute(query).scalars().all()
    assert "ix_outbox_claimable" in plan, plan
    assert len(ids) == 5 and ids == sorted(ids)
