"""Read back what Prefect recorded about flow runs: for tests and for the personal-data scan.

Every text an operator can see in the Prefect UI about a run — its name, tags, parameters,
state message, log lines, artifacts (key, description, data) — is collected as plain strings,
so a test can plant canary personal data (a CPR-shaped string, a name) and assert that none
of it reaches Prefect (``find_canaries``).

Prefect is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import FlowRun

PAGE = 200


@dataclass(frozen=True)
class FlowRunRecord:
    """A flow run as the Prefect API reports it, reduced to what a person reads."""

    id: UUID
    name: str
    flow_name: str
    deployment_id: UUID | None
    tags: tuple[str, ...]
    parameters: dict[str, Any]
    state_type: str | None
    state_name: str | None
    state_message: str | None
    logs: tuple[str, ...] = ()
    artifacts: tuple[dict[str, Any], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """Every string of this record that the Prefect UI could show."""
        out = [self.name, self.flow_name, *self.tags, json.dumps(self.parameters, default=str)]
        out += [t for t in (self.state_name, self.state_message) if t]
        out += list(self.logs)
        out += [json.dumps(a, default=str, ensure_ascii=False) for a in self.artifacts]
        return out


async def flush_logs() -> None:
    """Send the log lines this process still holds to the API (logs go in batches)."""
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()


async def read_logs(client: PrefectClient, flow_run_id: UUID) -> list[str]:
    """All log messages of a flow run (its task runs included), oldest first."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    messages: list[str] = []
    offset = 0
    while True:
        page = await client.read_logs(
            log_filter=log_filter, limit=PAGE, offset=offset, sort=LogSort.TIMESTAMP_ASC
        )
        messages += [log.message for log in page]
        if len(page) < PAGE:
            return messages
        offset += PAGE


async def read_artifacts(client: PrefectClient, flow_run_id: UUID) -> list[dict[str, Any]]:
    """All artifacts of a flow run as plain dicts (key, type, description, data)."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    artifacts = await client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    )
    return [
        {"key": a.key, "type": a.type, "description": a.description, "data": a.data}
        for a in artifacts
    ]


def table_rows(artifact: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a table artifact (the API stores the table as a JSON string)."""
    data = artifact["data"]
    if isinstance(data, str):
        data = json.loads(data)
    if isinstance(data, dict):  # a column-oriented table: {"col": [values...]}
        columns = list(data)
        return [
            dict(zip(columns, values, strict=True)) for values in zip(*data.values(), strict=True)
        ]
    return list(data)


async def read_flow_run_record(
    client: PrefectClient, flow_run_id: UUID, *, with_logs: bool = True
) -> FlowRunRecord:
    """One flow run with its logs and artifacts."""
    run = await client.read_flow_run(flow_run_id)
    flow = await client.read_flow(run.flow_id)
    return _record(
        run,
        flow_name=flow.name,
        logs=await read_logs(client, run.id) if with_logs else [],
        artifacts=await read_artifacts(client, run.id) if with_logs else [],
    )


def _record(
    run: FlowRun, *, flow_name: str, logs: Sequence[str], artifacts: Sequence[dict[str, Any]]
) -> FlowRunRecord:
    state = run.state
    return FlowRunRecord(
        id=run.id,
        name=run.name,
        flow_name=flow_name,
        deployment_id=run.deployment_id,
        tags=tuple(run.tags or ()),
        parameters=dict(run.parameters or {}),
        state_type=state.type.value if state else None,
        state_name=state.name if state else None,
        state_message=state.message if state else None,
        logs=tuple(logs),
        artifacts=tuple(artifacts),
    )


async def read_all_flow_runs(client: PrefectClient) -> list[FlowRunRecord]:
    """Every flow run the server knows, with logs and artifacts (for the canary scan)."""
    flow_names = {f.id: f.name for f in await client.read_flows()}
    runs: list[FlowRun] = []
    offset = 0
    while True:
        page = await client.read_flow_runs(limit=PAGE, offset=offset)
        runs += page
        if len(page) < PAGE:
            break
        offset += PAGE
    return [
        _record(
            run,
            flow_name=flow_names.get(run.flow_id, ""),
            logs=await read_logs(client, run.id),
            artifacts=await read_artifacts(client, run.id),
        )
        for run in runs
    ]


async def collect_visible_texts(client: PrefectClient) -> list[str]:
    """Every string about every flow run and task run — plus all artifacts, deployments
    and events (with their resources and payloads) — that the Prefect UI shows, for
    ``find_canaries``."""
    texts: list[str] = []
    for record in await read_all_flow_runs(client):
        texts += record.texts()
    texts += await _task_run_texts(client)
    texts += await _event_texts(client)
    for artifact in await client.read_artifacts():
        texts.append(json.dumps([artifact.key, artifact.description, artifact.data], default=str))
    for deployment in await client.read_deployments():
        texts += [deployment.name, json.dumps(deployment.parameters, default=str)]
        texts += list(deployment.tags or ())
    return texts


async def _task_run_texts(client: PrefectClient) -> list[str]:
    texts: list[str] = []
    offset = 0
    while page := await client.read_task_runs(limit=PAGE, offset=offset):
        for run in page:
            texts += [run.name, *(run.tags or ()), json.dumps(run.task_inputs, default=str)]
            if run.state is not None:
                texts += [run.state.name or "", run.state.message or ""]
        offset += len(page)
    return texts


async def _event_texts(client: PrefectClient) -> list[str]:
    """Every event of the last day (Prefect's default window), whole, as JSON."""
    texts: list[str] = []
    page = await client.read_events(limit=50)  # the most the API serves per page
    while True:
        texts += [event.model_dump_json() for event in page.events]
        if not page.next_page:
            return texts
        page = await client.read_events_page(str(page.next_page))


def find_canaries(texts: Iterable[str], canaries: Iterable[str]) -> list[tuple[str, str]]:
    """``(canary, text)`` for every text that contains a canary (case-insensitive)."""
    lowered = [c.lower() for c in canaries if c]
    return [(c, t) for t in texts for c in lowered if c in t.lower()]


async def wait_for_flow_run(
    client: PrefectClient,
    flow_run_id: UUID,
    *,
    timeout: float = 30.0,
    poll: float = 0.2,
) -> FlowRun:
    """Poll until the flow run is in a final state; raise ``TimeoutError`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        run = await client.read_flow_run(flow_run_id)
        if run.state is not None and run.state.is_final():
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"flow run {flow_run_id} still {run.state_name} after {timeout} s")
        await asyncio.sleep(poll)


async def wait_for_log(
    client: PrefectClient,
    flow_run_id: UUID,
    fragment: str,
    *,
    timeout: float = 15.0,
    poll: float = 0.2,
) -> list[str]:
    """Poll the logs of a flow run until a line contains ``fragment``.

    A flow run in another process sends its logs in batches and may reach a final state
    before its last lines arrive.
    """
    deadline = time.monotonic() + timeout
    while True:
        lines = await read_logs(client, flow_run_id)
        if any(fragment in line for line in lines):
            return lines
        if time.monotonic() > deadline:
            raise TimeoutError(f"no log line with {fragment!r} for {flow_run_id} in {timeout} s")
        await asyncio.sleep(poll)
