"""Every deployment of iba-workflow, served by this process (``iba serve``)."""

from __future__ import annotations

from typing import Any


def deployments(interval_seconds: float) -> list[Any]:
    from iba_workflow.orchestration.compiler import build_deployments
    from iba_workflow.orchestration.runtime import runtime

    from .dispatcher import dispatcher
    from .reports import privacy_deployments
    from .visitation import flow_for

    definitions = runtime().definitions
    engine_deployments = build_deployments(
        definitions=definitions,
        visitation_flows={d: flow_for(d) for d in definitions},
        dispatcher_flow=dispatcher,
        interval_seconds=interval_seconds,
    )
    return [*engine_deployments, *privacy_deployments()]


def serve_forever(*, interval_seconds: float, limit: int | None = None) -> None:
    """Register and serve all deployments until SIGINT/SIGTERM. Deployments are not
    paused on shutdown: other ``iba serve`` processes may still be serving them."""
    from prefect import serve

    serve(
        *deployments(interval_seconds),
        pause_on_shutdown=False,
        print_starting_message=False,
        limit=limit,
    )


if __name__ == "__main__":
    import os

    serve_forever(interval_seconds=float(os.environ.get("IBA_DISPATCH_INTERVAL_SECONDS", "60")))
