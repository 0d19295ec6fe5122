"""Shared fixtures. The store fixtures run the same test against SQLite (a temporary
file) and the machine's PostgreSQL (a database per test, copied from a migrated
template made once per session and dropped at the end).

PostgreSQL unreachable: the PostgreSQL cases are skipped locally, and fail when the
environment says CI (CI=true), so a CI run can never pass without them.

Parallel runs (pytest-xdist, ``-n auto --dist loadgroup`` in pyproject.toml): every test
runs in any worker, except those ``pytest_collection_modifyitems`` puts into an xdist
group (see ``_serial_group``): each group runs in one worker, one test after another.
Session fixtures are per worker and safe side by side: the SQLite template lives under
the worker's own temporary directory, PostgreSQL databases carry a random prefix, the
Prefect template cache is made under a file lock.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get(
    "IBA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# One fixed identity key for the whole test run and every process it starts (CLI, servers),
# so what one process encrypts the next can read (see iba_workflow/privacy/crypto.py).
os.environ.setdefault("IBA_IDENTITY_KEYS", "test=u-R_fnYfUfAUknp3EvV7NfW1wyK8MFPeKlAaht1nEqQ=")

# Python keeps what it compiles (``__pycache__``), in this process, the xdist workers and
# every process the tests start (the CLI, Prefect's flow runs, servers). The suite starts
# hundreds of interpreters; with PYTHONDONTWRITEBYTECODE set (container images often set
# it, and this machine's environment does) and a virtualenv installed without
# byte-compiling (.ci/run), each of them compiled Prefect, SQLAlchemy and the rest from
# source again: 4.4 s instead of 1.7 s to import them (README, "Tests").
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

STORE_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _serial_group(item: pytest.Item) -> str | None:
    """The xdist group a test must run in, or None (any worker, in any order).

    - ``servers``: a real Prefect server (the session's ``prefect_server``, also behind the
      module stacks), and ``iba up`` (a Prefect server, the web app and a mailbox). One
      worker runs them one after another: one session server instead of one per worker,
      and two Prefect servers side by side on a 2-core machine only slow each other down.
    - ``browser``: headless Chromium (one at a time: ~300 MB each).
    - the module's own path, for a test that uses a module-scoped fixture (a month of mail
      for a caseload, a Radicale server, a report world): each worker would otherwise
      build it again for the tests it happens to get.
    """
    path = Path(str(item.fspath))
    fixtures = getattr(item, "fixturenames", ())
    if "prefect_server" in fixtures or path.name == "test_up.py":
        return "servers"
    if path.name in BROWSER_TEST_FILES:
        return "browser"
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", {}).values()
    if any(d.scope == "module" for defs in definitions for d in defs):
        return item.nodeid.split("::", 1)[0]
    return None


BROWSER_TEST_FILES = {"test_browser.py", "test_keyboard.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = _serial_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has cores. A fifth of a worker's
    time goes to waiting (a Prefect flow run, a server starting, a browser), and with
    one worker per core that time was lost; the extra one uses it."""
    return (os.cpu_count() or 1) + 1


GROUPS_LOST = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)  # after xdist's hook: did it take the groups?
def pytest_collection_finish(session: pytest.Session) -> None:
    """Under ``--dist loadgroup``, notice when xdist did not take the groups.

    xdist passes a group to the scheduler as a ``@group`` suffix of the test id; pytest
    9.2 ignores that suffix (pytest-dev/pytest-xdist#1386), and the groups then silently
    do nothing: module fixtures built once per worker, two Prefect servers at once. This
    is why pyproject.toml pins pytest 9.1.1; every grouped test fails with this sentence
    if that ever changes (``_groups_taken``)."""
    if not getattr(session.config.option, "loadgroup", False):  # set in xdist workers only
        return
    for item in session.items:
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid:
            session.config.stash[GROUPS_LOST] = (
                f"pytest-xdist did not take the xdist groups (pytest {pytest.__version__}; "
                "pytest-dev/pytest-xdist#1386): keep pytest at the version pyproject.toml "
                "pins, or run with -n 0"
            )
            return


@pytest.fixture(autouse=True)
def _groups_taken(request: pytest.FixtureRequest) -> None:
    lost = request.config.stash.get(GROUPS_LOST, None)
    if lost and any(request.node.iter_markers("xdist_group")):
        pytest.fail(lost)


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def _pg_admin() -> object:
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iba_workflow.store import make_engine, upgrade

    path = tmp_path_factory.mktemp("store") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database to copy; it and every copy are dropped after the session."""
    from sqlalchemy import text

    from iba_workflow.store import make_engine, upgrade

    admin = _pg_admin()
    try:
        with admin.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()  # type: ignore[attr-defined]
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"iba_test_{uuid.uuid4().hex[:10]}"
    template = f"{prefix}_template"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    engine = make_engine(_pg_url(template))
    upgrade(engine)
    engine.dispose()
    yield template
    with admin.connect() as conn:  # type: ignore[attr-defined]
        names = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{prefix}%"}
        ).scalars()
        for name in list(names):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty store on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "iba.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    from sqlalchemy import text

    template = request.getfixturevalue("postgres_template")
    name = f"{template.removesuffix('_template')}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def db_engine(store_url: str) -> Iterator[object]:
    from iba_workflow.store import make_engine

    engine = make_engine(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def open_session(db_engine: object) -> object:
    from iba_workflow.store import session_factory

    return session_factory(db_engine)  # type: ignore[arg-type]
