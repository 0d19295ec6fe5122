"""``iba · dispatcher``: one tick — enqueue what is due, send the outbox in batches
through the steps' send tasks, leave a table artifact. One flow run per tick."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

_send_tasks: dict[str, Any] = {}


def send_task_for(definition_id: str, step_id: str | None) -> Any:
    """The compiled ``<definition> · <step> · send`` task (compiled once per process)."""
    from iba_workflow.orchestration.compiler import compile_send_tasks
    from iba_workflow.orchestration.runtime import runtime
    from iba_workflow.orchestration.ticks import send_outbox_rows

    rt = runtime()
    key = definition_id if definition_id in rt.definitions else "-"
    if key not in _send_tasks:
        if key == "-":
            from prefect import task
            from prefect.cache_policies import NO_CACHE

            _send_tasks[key] = task(
                name="iba · send",
                cache_policy=NO_CACHE,
                persist_result=False,
            )(send_outbox_rows)
            return _send_tasks[key]
        _send_tasks[key] = compile_send_tasks(rt.definition(key), send_outbox_rows)
    found = _send_tasks[key]
    return found if key == "-" else found.for_step(step_id)


@flow(name="iba · dispatcher", flow_run_name="iba · dispatcher · tick", log_prints=False)
async def dispatcher(batch_size: int | None = None, lease_seconds: int | None = None) -> Any:
    """Enqueue due steps, reminders and escalations; send the outbox in batches."""
    from prefect import get_run_logger

    from iba_workflow.orchestration.runtime import dispatcher_owner, runtime
    from iba_workflow.orchestration.ticks import (
        publish_tick,
        reannounce_stale_requests,
        run_tick,
    )

    rt = runtime()
    stale = reannounce_stale_requests(
        rt, older_than_seconds=rt.orchestration.reannounce_after_seconds
    )
    if stale:
        get_run_logger().warning("%d visitation request(s) announced again", stale)
    result = await run_tick(
        rt,
        owner=dispatcher_owner(flow_run.get_id()),
        send_task_for=send_task_for,
        batch_size=batch_size,
        lease_seconds=lease_seconds,
    )
    await publish_tick(result)
    summary = result.report.summary()
    if result.failed:
        return Failed(message=f"some mails not sent: {summary}")
    return Completed(message=summary)
