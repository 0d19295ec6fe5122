"""(b) a served deployment's interval schedule, run now instead of waiting; (c) an
``iba.visitation.created`` event starting a deployment through a DeploymentEventTrigger."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from iba_workflow.orchestration.readback import (
    read_flow_run_record,
    wait_for_flow_run,
    wait_for_log,
)
from iba_workflow.orchestration.server import PrefectServer, wait_group_gone
from iba_workflow.orchestration.serving import (
    deployment_runs,
    emit_visitation_created,
    flush_events,
    run_scheduled_now,
    start_serve_process,
    stop_serve_process,
    wait_for_automations,
    wait_for_deployment,
    wait_for_scheduled_run,
)

REPO = Path(__file__).resolve().parents[2]
SERVED = Path(__file__).with_name("served_flows.py")


@pytest.fixture(scope="module")
def serve_process(
    prefect_server: PrefectServer,
    tmp_path_factory: pytest.TempPathFactory,
    prefect_timings: dict[str, float],
) -> Iterator[None]:
    env = prefect_server.client_env()
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
    env["PYTHONPATH"] = str(REPO)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    started = time.monotonic()
    process = start_serve_process([str(SERVED)], env=env, cwd=REPO, log_path=log)
    prefect_timings["serve_spawned"] = time.monotonic() - started
    try:
        yield
    finally:
        stopping = time.monotonic()
        returncode = stop_serve_process(process)
        prefect_timings["serve_stop"] = time.monotonic() - stopping
        assert wait_group_gone(process.pid), "a serve or flow-run process outlived its stop"
        assert returncode == 0, log.read_text(errors="replace")[-4000:]


@pytest.fixture
async def client(serve_process: None) -> AsyncIterator[object]:
    from prefect import get_client

    async with get_client() as c:
        yield c


async def test_interval_schedule_runs_when_pulled_forward(
    client, prefect_timings: dict[str, float]
) -> None:
    started = time.monotonic()
    deployment = await wait_for_deployment(client, "dispatcher/tick")
    prefect_timings["serve_registered"] = time.monotonic() - started
    assert deployment.schedules and deployment.schedules[0].active

    scheduled = await wait_for_scheduled_run(client, deployment.id)
    prefect_timings["first_scheduled_run_made"] = time.monotonic() - started
    assert scheduled.expected_start_time > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)

    pulled = time.monotonic()
    await run_scheduled_now(client, scheduled.id, now=dt.datetime.now(dt.UTC))
    finished = await wait_for_flow_run(client, scheduled.id, timeout=45)
    prefect_timings["pulled_forward_to_completed"] = time.monotonic() - pulled
    assert finished.state is not None and finished.state.is_completed(), finished.state

    await wait_for_log(client, scheduled.id, "tick: 0 due")
    record = await read_flow_run_record(client, scheduled.id)
    assert record.name == "dispatcher · tick"
    assert "iba" in record.tags


async def test_visitation_event_starts_its_deployment(
    client, prefect_timings: dict[str, float]
) -> None:
    deployment = await wait_for_deployment(client, "fagmentor/start-from-visitation")
    await wait_for_automations(client, deployment.id)

    emitted = time.monotonic()
    emit_visitation_created(visitation_id="v-0042", definition_id="fagmentor")
    await flush_events()

    deadline = time.monotonic() + 30
    runs = []
    while not runs and time.monotonic() < deadline:
        runs = await deployment_runs(client, deployment.id)
        if not runs:
            await _sleep(0.1)
    assert runs, "no flow run started by the event"
    prefect_timings["event_to_flow_run"] = time.monotonic() - emitted
    (run,) = runs
    assert run.parameters == {"visitation_id": "v-0042", "definition_id": "fagmentor"}

    finished = await wait_for_flow_run(client, run.id, timeout=45)
    prefect_timings["event_to_completed"] = time.monotonic() - emitted
    assert finished.state is not None and finished.state.is_completed(), finished.state
    record = await read_flow_run_record(client, run.id)
    assert record.name == "fagmentor · start · v-0042"


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
