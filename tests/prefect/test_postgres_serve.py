"""Growing past one machine: a PostgreSQL-backed Prefect server, a PostgreSQL store, and
two ``iba serve`` processes sharing the work. Two CLI visitations at once each become
one enrollment; four dispatcher ticks at once send each mail once (outbox leases with
``SELECT … FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from seeding import context, enrollments_due_now, start_in
from sqlalchemy import create_engine, text
from sqlmodel import select
from stack import REPO, Serving, SlowHandler, free_port, serve_env

from iba_workflow.engine import register_citizen
from iba_workflow.orchestration.compiler import (
    dispatcher_deployment_name,
    visitation_deployment_name,
)
from iba_workflow.orchestration.readback import read_artifacts, table_rows, wait_for_flow_run
from iba_workflow.orchestration.runtime import load_definitions
from iba_workflow.orchestration.server import PrefectServer, start_server, wait_group_gone
from iba_workflow.orchestration.serving import wait_for_deployment
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store.requests import VisitationRequestRow
from iba_workflow.store.tables import EnrollmentRow, OutboxRow

PG_ADMIN_URL = os.environ.get(
    "IBA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFINITIONS = load_definitions()
pytestmark = pytest.mark.postgres


def _url(database: str, driver: str) -> str:
    base = PG_ADMIN_URL.rpartition("/")[0].replace("postgresql+psycopg", f"postgresql+{driver}")
    return f"{base}/{database}"


def _prefect_template(admin: Any) -> str:
    """A migrated, empty Prefect database on PostgreSQL, made once per Prefect version and
    kept (like the SQLite template in the cache): copying it takes a fraction of a second,
    migrating takes 6–14 s."""
    from importlib import metadata

    from iba_workflow.orchestration.server import offline_env, prefect_executable

    name = "iba_prefect_template_" + metadata.version("prefect").replace(".", "_")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            return name
        work = f"{name}_{uuid.uuid4().hex[:6]}"
        conn.execute(text(f'CREATE DATABASE "{work}"'))
    home = Path(tempfile.mkdtemp())
    env = offline_env(home=home, database=home / "unused.db")
    env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = _url(work, "asyncpg")
    subprocess.run(
        [prefect_executable(), "server", "database", "upgrade", "-y"],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    with admin.connect() as conn:
        try:
            conn.execute(text(f'ALTER DATABASE "{work}" RENAME TO "{name}"'))
        except Exception:  # another session made it first
            conn.execute(text(f'DROP DATABASE IF EXISTS "{work}" WITH (FORCE)'))
    return name


@dataclass
class PgStack:
    server: PrefectServer
    serving: Serving
    smtp: SlowHandler
    open_session: Any


@pytest.fixture(scope="module")
def pg_stack(
    postgres_template: str,
    prefect_server: PrefectServer,  # the session's server: its settings are restored after
    tmp_path_factory: pytest.TempPathFactory,
    prefect_timings: dict[str, float],
) -> Iterator[PgStack]:
    tmp = tmp_path_factory.mktemp("pg-serve")
    name = f"{postgres_template.removesuffix('_template')}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    started = time.monotonic()
    prefect_template = _prefect_template(admin)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}_prefect" TEMPLATE "{prefect_template}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    prefect_timings["pg_template"] = time.monotonic() - started
    started = time.monotonic()
    server = start_server(
        tmp / "prefect",
        extra_env={
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": _url(f"{name}_prefect", "asyncpg"),
            "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
        },
    )
    prefect_timings["pg_server_start"] = time.monotonic() - started
    handler = SlowHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    store_url = _url(name, "psycopg")
    env = serve_env(
        server, database_url=store_url, data_dir=tmp / "data", smtp_port=controller.port
    )
    serving = Serving(env=env, logdir=tmp)
    # Each serve replaces the deployments' trigger automations when it registers; an event
    # in between finds none and is dropped (the next tick re-announces it). So the second
    # serve starts once the first has registered, and the test waits for its replacement.
    serving.start()
    first = asyncio.run(_registered(server.api_url, replacing=set()))
    serving.start()
    asyncio.run(_registered(server.api_url, replacing=first))
    engine = make_engine(store_url)
    try:
        yield PgStack(server, serving, handler, session_factory(engine))
    finally:
        codes = serving.stop_all()
        controller.stop()
        engine.dispose()
        server.stop()
        assert wait_group_gone(server.process.pid)
        with admin.connect() as conn:
            for db in (name, f"{name}_prefect"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        assert all(code == 0 for code in codes), serving.log()


async def _registered(api_url: str, *, replacing: set[Any]) -> set[Any]:
    """A serve has registered: the fagmentor visitation trigger exists as an automation
    other than those in ``replacing`` (the ones an earlier serve made). Its ids."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            deployment = await wait_for_deployment(client, visitation_deployment_name("fagmentor"))
            deadline = time.monotonic() + 60
            while True:
                found = await client.read_resource_related_automations(
                    f"prefect.deployment.{deployment.id}"
                )
                ids = {a.id for a in found}
                if ids and not ids & replacing:
                    break
                assert time.monotonic() < deadline, "the serve did not register its triggers"
                await asyncio.sleep(0.2)
            await wait_for_deployment(client, dispatcher_deployment_name())
            return ids


def test_two_serves_process_concurrent_cli_visitations_once_each(pg_stack: PgStack) -> None:
    env = pg_stack.serving.env
    iba = [sys.executable, "-m", "iba_workflow"]
    refs = [f"P-{n:03d}" for n in range(2)]
    with pg_stack.open_session() as session:
        for ref in refs:
            register_citizen(session, context(), ref=ref, municipality="hedensted")
        session.commit()
    start = start_in(21).isoformat()
    fagmentor = load_definitions()["fagmentor"]
    yes = [arg for c in fagmentor.eligibility for arg in ("--answer", f"{c.id}=yes")]
    visits = [
        subprocess.Popen(
            [*iba, "visit", "fagmentor", "--citizen", ref, "--accept", "--start", start, *yes],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for ref in refs
    ]
    outputs = [v.communicate(timeout=120)[0] for v in visits]
    assert all(v.returncode == 0 for v in visits), outputs
    with pg_stack.open_session() as session:
        requests = session.exec(select(VisitationRequestRow)).all()
        assert [r.status for r in requests] == ["processed"] * 2
        assert len(session.exec(select(EnrollmentRow)).all()) == 2


async def test_four_ticks_on_two_serves_send_each_mail_once(pg_stack: PgStack) -> None:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pending = enrollments_due_now(
        pg_stack.open_session, DEFINITIONS["motion_sygemeldte"], count=1, prefix="Q"
    )
    pg_stack.smtp.delay = 0.01
    with temporary_settings(updates={PREFECT_API_URL: pg_stack.server.api_url}):
        async with get_client() as client:
            deployment = await wait_for_deployment(client, dispatcher_deployment_name())
            runs = [await client.create_flow_run_from_deployment(deployment.id) for _ in range(4)]
            sent = 0
            for run in runs:
                finished = await wait_for_flow_run(client, run.id, timeout=120)
                assert finished.state is not None and finished.state.is_completed()
                sent += sum(table_rows(a)[-1]["sent"] for a in await read_artifacts(client, run.id))
    ids = pg_stack.smtp.message_ids()
    assert len(ids) == len(set(ids)) == pending == sent
    with pg_stack.open_session() as session:
        assert {r.status for r in session.exec(select(OutboxRow))} == {"sent"}
