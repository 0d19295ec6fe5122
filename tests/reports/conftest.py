"""One seeded store per backend and test module (the report tests only read it)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from report_world import World, seed

PG_ADMIN_URL = os.environ.get(
    "IBA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    """A migrated store (copied from the session's templates), seeded once per module."""
    from sqlalchemy import create_engine, text

    from iba_workflow.store import make_engine, session_factory

    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("seeded") / "iba.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url, drop = f"sqlite:///{target}", None
    else:
        template = request.getfixturevalue("postgres_template")
        name = f"{template.removesuffix('_template')}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url, drop = f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}", name
    engine = make_engine(url)
    with session_factory(engine)() as session:
        seed(session, identities=True)
    engine.dispose()
    yield url
    if drop is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def world(seeded_url: str) -> Iterator[World]:
    """The seeded store, read through a fresh session (the clock is not needed)."""
    from report_world import make_context

    from iba_workflow.store import make_engine, session_factory

    engine = make_engine(seeded_url)
    with session_factory(engine)() as session:
        yield make_context(session)
    engine.dispose()
