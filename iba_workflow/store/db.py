"""Connecting to the store: engine and session factory from Settings, and migrations.

Nothing connects at import time. SQLite gets WAL (``synchronous=NORMAL``), foreign keys
and a busy timeout on every connection, and its writers in this process queue at the
file's write gate (``store.write_gate``: first come, first served, no sleep-polling);
PostgreSQL is used as it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from iba_workflow.errors import StoreError
from iba_workflow.settings import Settings

from .queries import group_id
from .write_gate import GatedConnection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
GatedConnection.gate_timeout = SQLITE_BUSY_TIMEOUT_MS / 1000

SessionFactory = Callable[[], Session]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for ``url``; SQLite files get their folder created."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)  # no personal data in an error's text or log
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": GatedConnection}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No JIT: the store's questions are short; PostgreSQL compiled them whenever it
    # over-estimated their rows (jit_above_cost), 80-90 ms each on a 100,000-enrollment
    # store, most of what the query then took (bench/bench_scale.py --explain).
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("options", "-c jit=off")
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


# In WAL mode ``synchronous=NORMAL`` is SQLite's recommended setting: a commit is not
# fsynced (the WAL is, at each checkpoint), the file stays consistent, and a crash of the
# process loses nothing; only a power loss or OS crash can roll back the last commits.
# FULL (the default) costs one fsync per commit: most of a step completion's and a sent
# mail's wall time. bench/bench_lifecycle.py gives its peer the same pragmas.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    # what PostgreSQL computes with sha256 (store.queries: a group's message ids)
    dbapi_connection.create_function("iba_group_id", 1, group_id, deterministic=True)


def engine_from_settings(settings: Settings) -> Engine:
    return make_engine(settings.resolved_database_url())


def session_factory(engine: Engine) -> SessionFactory:
    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations shipped in the package up to ``revision``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except Exception as exc:  # a broken database must not show a traceback
        raise StoreError(
            f"the database could not be migrated ({type(exc).__name__})",
            hint="check IBA_DATABASE_URL and that the database is reachable",
        ) from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
