"""The record: SQLModel tables, sessions, migrations and the outbox."""

from __future__ import annotations

from .db import (
    SessionFactory,
    engine_from_settings,
    make_engine,
    session_factory,
    upgrade,
)

__all__ = [
    "SessionFactory",
    "engine_from_settings",
    "make_engine",
    "session_factory",
    "upgrade",
]
