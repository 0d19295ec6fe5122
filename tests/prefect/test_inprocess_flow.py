"""(a) an in-process async flow run with a readable name and tags, (d) a table artifact,
(e) its logs — all read back from a real Prefect server through the client."""

from __future__ import annotations

import time

import pytest

from iba_workflow.orchestration.readback import (
    collect_visible_texts,
    find_canaries,
    flush_logs,
    read_flow_run_record,
    table_rows,
)

pytestmark = pytest.mark.usefixtures("prefect_server")


def _demo_flow():  # built lazily: importing prefect at collection costs ~1.5 s
    from prefect import flow, get_run_logger, tags
    from prefect.artifacts import create_table_artifact

    @flow(
        name="fagmentor",
        flow_run_name="fagmentor · opstartsmøde · {enrollment_id}",
        log_prints=False,
    )
    async def step(enrollment_id: str, step_id: str) -> str:
        logger = get_run_logger()
        logger.info("step %s for enrollment %s done", step_id, enrollment_id)
        await create_table_artifact(
            key="dispatch-tick",
            table=[
                {"intervention": "fagmentor", "due": 3, "sent": 2, "failed": 1},
                {"intervention": "de-internationale", "due": 0, "sent": 0, "failed": 0},
            ],
            description="Dispatcher tick",
        )
        return "ok"

    return step, tags


async def test_flow_run_name_tags_state_parameters_artifact_and_logs(
    prefect_timings: dict[str, float],
) -> None:
    from prefect import get_client

    step, tags = _demo_flow()
    started = time.monotonic()
    with tags("definition:fagmentor", "version:1"):
        state = await step(enrollment_id="e-0001", step_id="opstart", return_state=True)
    prefect_timings["first_inprocess_flow_run"] = time.monotonic() - started
    assert state.is_completed()
    await flush_logs()

    async with get_client() as client:
        record = await read_flow_run_record(client, state.state_details.flow_run_id)
        texts = await collect_visible_texts(client)

    assert record.name == "fagmentor · opstartsmøde · e-0001"
    assert record.flow_name == "fagmentor"
    assert set(record.tags) >= {"definition:fagmentor", "version:1"}
    assert record.state_type == "COMPLETED"
    assert record.parameters == {"enrollment_id": "e-0001", "step_id": "opstart"}
    assert any("step opstart for enrollment e-0001 done" in line for line in record.logs)
    (artifact,) = record.artifacts
    assert artifact["key"] == "dispatch-tick"
    assert artifact["type"] == "table"
    assert table_rows(artifact)[0] == {
        "intervention": "fagmentor",
        "due": 3,
        "sent": 2,
        "failed": 1,
    }
    assert find_canaries(texts, ["e-0001"]), "the scan must see what the run recorded"
    assert find_canaries(texts, ["010190-1234", "Jens Hansen"]) == []
