"""Start and stop a real ``prefect server start`` as a child process.

Used by the test fixture (``tests/prefect/conftest.py``) and, later, by ``iba serve``.
Nothing here imports Prefect: the server runs in its own process, started through the
``prefect`` console script next to the running interpreter, so importing this module is cheap.

Speed trick: migrating an empty SQLite database takes most of a cold start. We migrate once
into a cache directory keyed by the Prefect version (``template_database``) and copy that
file for every server (``start_server(template=...)``).

Versions: the Prefect 3.8.8 server needs SQLAlchemy 2.0 (with 2.1 its scheduler's bulk
insert raises "Can't evaluate bulk DML statement", so no scheduled run is ever created) and
FastAPI <= 0.150 (>= 0.151 answers 422 to its own client's explicit nulls; >= 0.155 does not
import). The project pins those versions for everything, so server and clients share one
environment (see ``pyproject.toml``).

Offline: every server gets ``DO_NOT_TRACK=1``, ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` and
its own ``PREFECT_HOME``, so it neither phones home nor reads the user's profiles.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DATABASE_NAME = "prefect.db"


class PrefectServerError(RuntimeError):
    """The Prefect server did not start, or its template database could not be made."""


def prefect_executable() -> str:
    """The ``prefect`` console script of the interpreter running us (the venv's, not PATH's)."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free at the moment of asking (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sqlite_url(database: Path) -> str:
    return f"sqlite+aiosqlite:///{database}"


def offline_env(
    *,
    home: Path,
    database: Path,
    ui: bool = False,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a Prefect process that never reaches the internet.

    ``base`` defaults to ``os.environ``; any ``PREFECT_API_URL`` in it is dropped so that a
    server never talks to another server.
    """
    env = dict(os.environ if base is None else base)
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_HOME": str(home),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": sqlite_url(database),
            "PREFECT_UI_ENABLED": "true" if ui else "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        }
    )
    if extra:
        env.update(extra)
    return env


def template_database(cache_dir: Path, *, timeout: float = 180.0) -> Path:
    """A fully migrated, empty Prefect SQLite database, made once per Prefect version.

    Safe to call from several processes at once (a file lock guards the migration; the
    finished file appears by atomic rename).
    """
    version = metadata.version("prefect")
    key = f"prefect-{version}"
    target = cache_dir / key / DATABASE_NAME
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        work = target.parent / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        database = work / DATABASE_NAME
        env = offline_env(home=work / "home", database=database)
        result = subprocess.run(
            [prefect_executable(), "server", "database", "upgrade", "-y"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0 or not database.exists():
            raise PrefectServerError(
                f"could not migrate a template Prefect database: {result.stderr[-2000:]}"
            )
        _checkpoint(database)
        os.replace(database, target)
        shutil.rmtree(work, ignore_errors=True)
    return target


def _checkpoint(database: Path) -> None:
    """Fold any write-ahead log into the main file so that copying one file is enough."""
    import sqlite3

    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


@dataclass
class PrefectServer:
    """A running ``prefect server start`` child process."""

    api_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    env: dict[str, str]
    client_base_env: dict[str, str]

    @property
    def database(self) -> Path:
        return self.workdir / DATABASE_NAME

    def client_env(self) -> dict[str, str]:
        """Environment for a client process (a runner, a served flow) of this server."""
        env = dict(self.client_base_env)
        env["PREFECT_API_URL"] = self.api_url
        return env

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the server: SIGINT, then SIGTERM, then SIGKILL to its whole process group."""
        return stop_process_group(self.process, timeout=timeout)


def stop_process_group(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> int | None:
    """Stop a child started with ``start_new_session=True`` and everything it started."""
    if process.poll() is None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=timeout / 2)
                break
            except subprocess.TimeoutExpired:
                continue
    # Whatever the leader left behind in its group (uvicorn workers, flow-run children).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=timeout)
    return process.returncode


def wait_group_gone(pgid: int, *, timeout: float = 5.0) -> bool:
    """True once no process of the group ``pgid`` is alive; False if some outlive ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def start_server(
    workdir: Path,
    *,
    template: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    ui: bool = False,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> PrefectServer:
    """Start ``prefect server start`` with SQLite in ``workdir``; return once it is healthy.

    With ``template`` (see ``template_database``) a new database is a copy of an already
    migrated one and the server skips migration on start; an existing database is kept
    (and migrated on start). ``extra_env`` may point the server at PostgreSQL
    (``PREFECT_SERVER_DATABASE_CONNECTION_URL``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / DATABASE_NAME
    extra = {"PREFECT_LOGGING_SERVER_LEVEL": "WARNING", **(extra_env or {})}
    if template is not None and not database.exists():  # an existing database is kept
        shutil.copyfile(template, database)
        extra.setdefault("PREFECT_SERVER_DATABASE_MIGRATE_ON_START", "false")
    port = port or free_port(host)
    if ui:  # the UI in the browser asks this URL (default: port 4200)
        extra.setdefault("PREFECT_UI_API_URL", f"http://{host}:{port}/api")
    env = offline_env(home=workdir / "home", database=database, ui=ui, extra=extra)
    client_base_env = offline_env(home=workdir / "client-home", database=database)
    del client_base_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"]
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [prefect_executable(), "server", "start", "--host", host, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = PrefectServer(
        api_url=f"http://{host}:{port}/api",
        process=process,
        workdir=workdir,
        log_path=log_path,
        env=env,
        client_base_env=client_base_env,
    )
    try:
        wait_healthy(server, timeout=timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(server: PrefectServer, *, timeout: float) -> None:
    """Poll ``/api/health`` until it answers 200, the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    url = f"{server.api_url}/health"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise PrefectServerError(
                f"prefect server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise PrefectServerError(f"prefect server not healthy after {timeout} s:\n{server.log_tail()}")


@contextlib.contextmanager
def running_server(
    workdir: Path,
    *,
    template: Path | None = None,
    ui: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[PrefectServer]:
    """``start_server`` as a context manager that always stops the server."""
    server = start_server(workdir, template=template, ui=ui, extra_env=extra_env)
    try:
        yield server
    finally:
        server.stop()
