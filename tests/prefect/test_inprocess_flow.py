"""Our dispatcher flow (``flows.dispatcher``), called in-process against the session's real
Prefect server, a SQLite store with due enrollments and a real aiosmtpd: the run's name,
state, table artifact, send task runs and logs as the Prefect API reports them — and no
personal data of the citizen (planted in the store's identity) anywhere in it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from seeding import enrollments_due_now
from stack import SlowHandler, free_port

from iba_workflow.orchestration.readback import (
    collect_visible_texts,
    find_canaries,
    flush_logs,
    read_flow_run_record,
    table_rows,
)
from iba_workflow.orchestration.runtime import load_definitions, runtime
from iba_workflow.store import make_engine, session_factory, upgrade

pytestmark = pytest.mark.usefixtures("prefect_server")

CANARY_CPR = "241299-1357"
CANARY_NAME = "Amina Kanarieflow"


@pytest.fixture
def served_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """A migrated store and an SMTP sink, wired into this process's runtime."""
    handler = SlowHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    url = f"sqlite:///{tmp_path / 'iba.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    env = {
        "IBA_DATABASE_URL": url,
        "IBA_DATA_DIR": str(tmp_path / "data"),
        "IBA_SMTP_HOST": "127.0.0.1",
        "IBA_SMTP_PORT": str(controller.port),
        # As the stack's ``iba serve`` (and seeding.IMMEDIATE): a mail per notification at
        # any hour, so no morning digest joins the tick depending on the time of day.
        "IBA_NOTIFY_DEFAULT": "immediate",
        "IBA_NOTIFY_BUNDLE": "false",
        "IBA_NOTIFY_QUIET_HOURS": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime.cache_clear()
    try:
        yield session_factory(engine), handler
    finally:
        runtime.cache_clear()
        controller.stop()
        engine.dispose()


async def test_dispatcher_flow_in_process_records_a_tick_without_personal_data(
    served_store: tuple[Any, Any], prefect_timings: dict[str, float]
) -> None:
    from prefect import get_client
    from sqlmodel import select

    from flows.dispatcher import dispatcher
    from iba_workflow.store.tables import CitizenIdentityRow, CitizenRow

    open_session, smtp = served_store
    hop = load_definitions()["hop"]
    pending = enrollments_due_now(open_session, hop, count=2, prefix="D")
    assert pending >= 2
    with open_session() as session:  # the enrolled citizen's personal data, as stored
        citizen = session.exec(select(CitizenRow).where(CitizenRow.ref == "D-0000")).one()
        session.add(CitizenIdentityRow(citizen_id=citizen.id, name=CANARY_NAME, cpr=CANARY_CPR))
        session.commit()

    started = time.monotonic()
    state = await dispatcher(return_state=True)
    prefect_timings["inprocess_dispatcher_tick"] = time.monotonic() - started
    assert state.is_completed(), state.message
    assert len(smtp.received) == pending
    await flush_logs()

    async with get_client() as client:
        record = await read_flow_run_record(client, state.state_details.flow_run_id)
        task_runs = await client.read_task_runs()
        texts = await collect_visible_texts(client)

    assert record.name == "iba · dispatcher · tick"
    assert record.state_type == "COMPLETED"
    assert any("tick:" in line and f"sent {pending}" in line for line in record.logs)
    (artifact,) = record.artifacts
    assert artifact["key"] == "dispatch-tick"
    rows = table_rows(artifact)
    assert rows[-1]["intervention"] == "I alt" and rows[-1]["sent"] == pending
    sends = [t for t in task_runs if t.flow_run_id == record.id]
    assert sends and all(" · send" in t.name for t in sends)
    assert any(t.name.startswith("hop · ") for t in sends)  # a step's own send task
    assert find_canaries(texts, ["iba · dispatcher · tick"]), "the scan must see the run"
    assert find_canaries(texts, [CANARY_NAME, CANARY_CPR, CANARY_CPR.replace("-", "")]) == []
