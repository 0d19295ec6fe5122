"""Killing the process between (or during) any two transactions loses nothing and
duplicates nothing: the next run continues from the store to the same record.

A failure is injected at the Nth commit, either just before it (the transaction dies
uncommitted, as if the process were killed mid-write) or just after it (the process
dies between two transactions). The simulation is then simply run again on the same
store, and the record must equal that of an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_helpers import canonical, definition
from sqlalchemy import event

from iba_workflow import paths
from iba_workflow.engine import calendars_from
from iba_workflow.simulate import Simulation, SimulationScript

SCRIPT = {
    "outcomes": {"evaluering": "forlaengelse", "evaluering@2": "loennede_timer"},
    "pauses": [{"from": "2027-04-05", "to": "2027-04-09"}],
    "late": {"midtvejssamtale": 2},
}


class Crash(Exception):
    """The process dies here."""


class CrashingSessions:
    """Sessions that die at the Nth commit (counted over every session it opened):
    ``before`` it (nothing of that transaction is kept) or ``after`` it (it is kept, and
    the process dies as the next transaction begins)."""

    def __init__(self, open_session: Any, *, at: int | None, moment: str) -> None:
        self.open_session = open_session
        self.at = at
        self.moment = moment
        self.commits = 0
        self.dying = False

    def __call__(self) -> Any:
        session = self.open_session()
        event.listen(session, "before_commit", self._before_commit)
        event.listen(session, "after_commit", self._after_commit)
        event.listen(session, "after_begin", self._after_begin)
        return session

    def _before_commit(self, _session: Any) -> None:
        if self.moment == "before" and self.commits + 1 == self.at:
            raise Crash(f"killed during commit {self.at}")

    def _after_commit(self, _session: Any) -> None:
        self.commits += 1
        if self.moment == "after" and self.commits == self.at:
            self.dying = True

    def _after_begin(self, *_args: Any) -> None:
        if self.dying:
            self.dying = False
            raise Crash(f"killed after commit {self.at}")


def _simulation(open_session: Any) -> Simulation:
    return Simulation(
        open_session,
        definition("fagmentor"),
        calendars_from(paths.calendars_dir()),
        dt.date(2027, 3, 1),
        SimulationScript.model_validate(SCRIPT),
    )


def _crash_then_resume(open_session: Any, at: int, moment: str) -> None:
    crashing = CrashingSessions(open_session, at=at, moment=moment)
    try:
        _simulation(crashing).run()
    except Crash:
        pass
    else:  # only dying after the very last commit lets the run finish
        assert moment == "after" and crashing.commits == at
    _simulation(open_session).run()  # the next run, on the same store


SHARDS = 4  # the boundaries are split over 4 tests, so parallel workers share them


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda n: f"shard{n + 1}of{SHARDS}")
@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_crash_at_any_commit_is_continued_without_loss_or_duplication(
    moment: str, shard: int, store_url: str, db_engine: Any, open_session: Any
) -> None:
    """A Fagmentor run (extension, sick leave, a late meeting) dies at a transaction
    boundary and is run again, each time on an emptied store.

    ``after``: the process dies between two transactions, at every boundary on SQLite.
    ``before``: it dies inside a commit; the store is then as it was after the previous
    commit (only the rollback is new), so every 4th boundary suffices. On PostgreSQL
    every 11th, for time (the whole test is minutes of CI). Shard n of 4 takes every 4th
    of those boundaries from the nth on: together the four take each one once."""
    from sqlmodel import SQLModel

    expected, commits = _reference(db_engine)
    assert commits > 50  # the run really has many transactions to die in
    sqlite_step = 1 if moment == "after" else 4
    step = sqlite_step if store_url.startswith("sqlite") else 11
    boundaries = range(1, commits + 1, step)[shard::SHARDS]
    assert boundaries, "every shard has boundaries to die at"
    for at in boundaries:
        _empty(db_engine, SQLModel.metadata)
        _crash_then_resume(open_session, at, moment)
        with open_session() as session:
            got = canonical(session)
        assert got == expected, f"record differs after a crash {moment} commit {at}"


def _reference(db_engine: Any) -> tuple[Any, int]:
    """The record of an uninterrupted run, and how many commits it made."""
    from iba_workflow.store import session_factory

    counting = CrashingSessions(session_factory(db_engine), at=None, moment="after")
    _simulation(counting).run()
    with session_factory(db_engine)() as session:
        record = canonical(session)
    return record, counting.commits


def _empty(engine: Any, metadata: Any) -> None:
    """Delete every row (the audit log refuses DELETE, so its trigger is bypassed)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
            for table in reversed(metadata.sorted_tables):
                conn.exec_driver_sql(f"DELETE FROM {table.name}")
            conn.exec_driver_sql(
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        else:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")  # fires no row-level trigger


def test_running_a_finished_simulation_again_changes_nothing(open_session: Any) -> None:
    _simulation(open_session).run()
    with open_session() as session:
        first = canonical(session)
    _simulation(open_session).run()
    with open_session() as session:
        assert canonical(session) == first
