"""``<definition> · visitation``: a received visitation request becomes an enrollment.

One flow per definition, compiled on first access: ``flows.visitation.fagmentor`` is the
flow of ``definitions/fagmentor.yaml`` (this is the deployment's entry point). Its one
parameter is the request's opaque key; the request itself is in the store.
"""

from __future__ import annotations

from typing import Any

_compiled: dict[str, Any] = {}


async def process_request(definition_id: str, request_id: str) -> Any:
    """Open the store, let the engine process the request (idempotent), log ids only."""
    from prefect import get_run_logger
    from prefect.states import Failed

    from iba_workflow.orchestration.intake import process_visitation_request
    from iba_workflow.orchestration.runtime import runtime

    rt = runtime()
    with rt.session_factory() as session:
        outcome = process_visitation_request(
            session, rt.context(), request_id, definitions=rt.definitions
        )
    get_run_logger().info(outcome.summary())
    result = {
        "request_id": outcome.key,
        "status": outcome.status,
        "decision": outcome.decision,
        "visitation_id": outcome.visitation_id,
        "enrollment_id": outcome.enrollment_id,
    }
    if outcome.status == "refused":  # the reason is on the request in the store
        return Failed(message=f"{definition_id}: request {request_id} refused by the engine")
    return result


def flow_for(definition_id: str) -> Any:
    """The compiled flow of one definition (the same object on every call)."""
    if definition_id not in _compiled:
        from iba_workflow.orchestration.compiler import compile_visitation_flow
        from iba_workflow.orchestration.runtime import runtime

        d = runtime().definition(definition_id)
        _compiled[definition_id] = compile_visitation_flow(d, process_request)
    return _compiled[definition_id]


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    from iba_workflow.errors import NotFound

    try:
        return flow_for(name)
    except NotFound as missing:
        raise AttributeError(name) from missing
