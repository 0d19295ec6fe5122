"""A real Prefect server for the session: ``prefect server start`` on a free port, SQLite in a
temporary directory, started from a pre-migrated template database (cached per Prefect
version in pytest's cache, or ``IBA_PREFECT_CACHE``), stopped at the end — and checked that
no process of its group is left.

This test process talks to that server through Prefect's settings (and, during each test
that uses it, ``PREFECT_API_URL``); every subprocess started with
``prefect_server.client_env()`` through ``PREFECT_API_URL``. Nothing is left in
``os.environ`` for tests collected later.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iba_workflow.orchestration.server import (
    PrefectServer,
    start_server,
    template_database,
    wait_group_gone,
)

# Services a test session does not need: less background work (start-up is the same, ~4 s).
QUIET_SERVICES: dict[str, str] = {
    f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
    for name in (
        "FOREMAN",
        "LATE_RUNS",
        "PAUSE_EXPIRATIONS",
        "REPOSSESSOR",
        "CANCELLATION_CLEANUP",
        "DB_VACUUM",
    )
}
# The scheduler looks at newly registered deployments every second (default 5 s).
FAST_SCHEDULER = {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1"}
TIMINGS: dict[str, float] = {}


def _cache_dir(request: pytest.FixtureRequest) -> Path:
    cache = os.environ.get("IBA_PREFECT_CACHE")
    if cache:
        return Path(cache)
    pytest_cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    if pytest_cache is not None:
        return Path(pytest_cache.mkdir("prefect-server"))
    return Path(tempfile.gettempdir()) / "iba-prefect-cache"


@pytest.fixture(scope="session")
def prefect_template(request: pytest.FixtureRequest) -> Path:
    started = time.monotonic()
    path = template_database(_cache_dir(request))
    TIMINGS["template"] = time.monotonic() - started
    return path


@pytest.fixture(scope="session")
def prefect_server(
    prefect_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectServer]:
    """A running Prefect server; the session's client points at it."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    workdir = tmp_path_factory.mktemp("prefect-server")
    started = time.monotonic()
    server = start_server(
        workdir,
        template=prefect_template,
        extra_env={**QUIET_SERVICES, **FAST_SCHEDULER},
    )
    TIMINGS["server_start"] = time.monotonic() - started
    os.environ["DO_NOT_TRACK"] = "1"
    try:
        with temporary_settings(
            updates={PREFECT_API_URL: server.api_url, PREFECT_HOME: workdir / "client-home"}
        ):
            yield server
    finally:
        server.stop()
        assert wait_group_gone(server.process.pid), "a Prefect server process outlived its stop"


@pytest.fixture(autouse=True)
def _prefect_api_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PREFECT_API_URL`` in the environment during each test here that uses the server,
    and never after: tests collected later (``iba visit`` in auto mode, the web app) must
    not find a Prefect API configured."""
    if "prefect_server" in request.fixturenames:
        server: PrefectServer = request.getfixturevalue("prefect_server")
        monkeypatch.setenv("PREFECT_API_URL", server.api_url)


@pytest.fixture(scope="session")
def prefect_timings() -> dict[str, float]:
    """Named durations in seconds, printed at the end of the session."""
    return TIMINGS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        shown = ", ".join(f"{k} {v:.2f} s" for k, v in TIMINGS.items())
        terminalreporter.write_line(f"prefect timings: {shown}")
