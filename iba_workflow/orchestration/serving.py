"""Serve deployments in a child process, and talk to served deployments from outside.

What works with prefect 3.8.8 (see docs/prefect-notes.md):

- ``prefect.serve(*flow.to_deployment(...))`` in its own process (``start_serve_process``),
  started in a new session so that stopping it (SIGINT → SIGTERM → SIGKILL to the group)
  also ends the flow-run processes it spawned. ``serve`` pauses the schedules of its
  deployments on a clean shutdown.
- A scheduled run is pulled forward with ``set_flow_run_state(id, Scheduled(now), force=True)``
  (``run_scheduled_now``) instead of waiting for its slot.
- ``emit_event`` + a ``DeploymentEventTrigger`` on the deployment starts a run whose
  parameters are rendered from the event (``visitation_trigger``, ``emit_visitation_created``).

Prefect is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from iba_workflow.orchestration.server import stop_process_group

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import DeploymentResponse
    from prefect.events import DeploymentEventTrigger

VISITATION_CREATED = "iba.visitation.created"


def start_serve_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
) -> subprocess.Popen[bytes]:
    """Run a serving script (``[python, script.py]`` or ``[python, -m, module]``) in its own
    process group; stop it with ``stop_process_group``."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, *argv] if argv[0] != sys.executable else list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_serve_process(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> int | None:
    return stop_process_group(process, timeout=timeout)


def visitation_trigger(definition_id: str) -> DeploymentEventTrigger:
    """Start the deployment for every ``iba.visitation.created`` event of one definition.

    The event carries opaque ids only; they become the flow run's parameters.
    """
    from prefect.events import DeploymentEventTrigger

    return DeploymentEventTrigger(
        name=f"{VISITATION_CREATED} · {definition_id}",
        expect={VISITATION_CREATED},
        match={"prefect.resource.id": "iba.visitation.*", "iba.definition.id": definition_id},
        parameters={"request_id": "{{ event.payload.request_id }}"},
    )


def emit_visitation_created(*, request_id: str, definition_id: str) -> None:
    """Emit the event a visitation's door (CLI, HTTP) sends: the opaque key of the stored
    request and the definition id, nothing else."""
    from prefect.events import emit_event

    emit_event(
        event=VISITATION_CREATED,
        resource={
            "prefect.resource.id": f"iba.visitation.{request_id}",
            "iba.definition.id": definition_id,
        },
        payload={"request_id": request_id, "definition_id": definition_id},
    )


def flush_events_sync(timeout: float = 10.0) -> None:
    """``flush_events`` for synchronous code (the CLI)."""
    from prefect.events.worker import EventsWorker

    result: Any = EventsWorker.drain_all(timeout=timeout)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


async def flush_events() -> None:
    """Send the events this process still holds (``emit_event`` sends in the background)."""
    from prefect.events.worker import EventsWorker

    result: Any = EventsWorker.drain_all()
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


async def wait_for_deployment(
    client: PrefectClient, name: str, *, timeout: float = 30.0
) -> DeploymentResponse:
    """Poll until a deployment ``"flow-name/deployment-name"`` exists."""
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.read_deployment_by_name(name)
        except ObjectNotFound as missing:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"deployment {name!r} not registered in {timeout} s"
                ) from missing
            await asyncio.sleep(0.2)


async def wait_for_automations(
    client: PrefectClient, deployment_id: UUID, *, count: int = 1, timeout: float = 30.0
) -> None:
    """Poll until the deployment's trigger(s) exist as automations."""
    deadline = time.monotonic() + timeout
    while True:
        automations = await client.read_resource_related_automations(
            f"prefect.deployment.{deployment_id}"
        )
        if len(automations) >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no automation for deployment {deployment_id} after {timeout} s")
        await asyncio.sleep(0.2)


async def deployment_runs(
    client: PrefectClient, deployment_id: UUID, *, state_types: Sequence[str] | None = None
) -> list[FlowRun]:
    """Flow runs of one deployment, earliest scheduled first."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    run_filter = None
    if state_types:
        run_filter = FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType(t) for t in state_types])
            )
        )
    return await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=run_filter,
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
    )


async def wait_for_scheduled_run(
    client: PrefectClient, deployment_id: UUID, *, timeout: float = 30.0
) -> FlowRun:
    """The earliest scheduled run the server's scheduler made for a deployment."""
    deadline = time.monotonic() + timeout
    while True:
        runs = await deployment_runs(client, deployment_id, state_types=["SCHEDULED"])
        if runs:
            return runs[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no scheduled run for deployment {deployment_id} in {timeout} s")
        await asyncio.sleep(0.2)


async def run_scheduled_now(client: PrefectClient, flow_run_id: UUID, *, now: dt.datetime) -> None:
    """Pull a future scheduled run forward to ``now`` (a runner polling picks it up)."""
    from prefect.states import Scheduled

    await client.set_flow_run_state(flow_run_id, Scheduled(scheduled_time=now), force=True)
