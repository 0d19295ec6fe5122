"""The unit of work: the caller (a web request, a CLI command, a flow run, the simulator)
owns the transaction. Engine functions take a session, flush and never commit; the caller
wraps them in one of these, which commits on success and rolls back on any error.

    with unit_of_work(session_factory) as session:
        complete_step(session, ctx, step_instance_id=7)
        complete_step(session, ctx, step_instance_id=8)   # refused: neither is kept
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlmodel import Session


@contextmanager
def unit_of_work(session_factory: Callable[[], Session]) -> Iterator[Session]:
    """A new session whose work is committed when the block ends normally and rolled
    back when it raises. A read-only block commits nothing but its audit rows."""
    with session_factory() as session, committed(session):
        yield session


@contextmanager
def committed(session: Session) -> Iterator[Session]:
    """One transaction on a session the caller keeps open (the simulator's long session,
    a flow that does several things in order): commit on success, roll back on error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
