"""Deployments served by a child process in tests/prefect/test_served.py.

Run as a script (``python tests/prefect/served_flows.py``) with PREFECT_API_URL pointing at
the test server. Two deployments stand in for what the compiler will make:

- ``dispatcher/tick``: an interval schedule (hourly, so it never fires during a test on its
  own; the test pulls its first scheduled run forward);
- ``fagmentor/start-from-visitation``: started by an ``iba.visitation.created`` event.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, serve

from iba_workflow.orchestration.serving import visitation_trigger


@flow(name="dispatcher", flow_run_name="dispatcher · tick")
def tick() -> int:
    get_run_logger().info("tick: 0 due")
    return 0


@flow(name="fagmentor", flow_run_name="fagmentor · start · {visitation_id}")
def start_from_visitation(visitation_id: str, definition_id: str) -> str:
    get_run_logger().info("visitation %s of %s started", visitation_id, definition_id)
    return visitation_id


if __name__ == "__main__":
    serve(
        tick.to_deployment(name="tick", interval=dt.timedelta(hours=1), tags=["iba"]),
        start_from_visitation.to_deployment(
            name="start-from-visitation",
            triggers=[visitation_trigger("fagmentor")],
            tags=["iba", "definition:fagmentor"],
        ),
        print_starting_message=False,
    )
