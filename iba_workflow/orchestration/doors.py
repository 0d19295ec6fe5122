"""The doors a visitation comes in by (``iba visit``, ``POST /api/visitations``): store the
request, then either announce it to Prefect (``iba.visitation.created`` with the opaque
key; the intervention's flow processes it) or, with no Prefect API, process it here.

Personal data given to a door (``Identity``) goes to ``citizen_identity`` only — never into
the event, a flow run's name or parameters, or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iba_workflow.engine import EngineContext
from iba_workflow.errors import IbaError
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.work import unit_of_work

from .intake import RequestOutcome, process_visitation_request, receive_visitation, request_outcome
from .runtime import OrchestrationSettings, Via


class PrefectUnavailable(IbaError):
    """The visitation could not be announced to the Prefect API."""


def resolve_via(via: Via, orchestration: OrchestrationSettings | None = None) -> str:
    """``auto``: through Prefect when a Prefect API is configured (``PREFECT_API_URL``)."""
    if via != "auto":
        return via
    settings = orchestration or OrchestrationSettings()
    return "prefect" if settings.prefect_api_url else "direct"


@dataclass(frozen=True)
class Submitted:
    key: str
    definition_id: str
    via: str
    outcome: RequestOutcome | None  # None: announced, not (yet) processed


def submit_visitation(
    session_factory: SessionFactory,
    ctx: EngineContext,
    *,
    definitions: dict[str, Any],
    definition_id: str,
    via: Via = "auto",
    **request: Any,
) -> Submitted:
    """Store the request (``receive_visitation`` arguments), then announce or process it."""
    d = definitions.get(definition_id)
    if d is None:
        raise IbaError(
            f"no definition '{definition_id}'",
            hint="known definitions: " + ", ".join(sorted(definitions)),
        )
    with unit_of_work(session_factory) as session:
        key = receive_visitation(session, ctx, definition=d, **request)
    route = resolve_via(via)
    if route == "direct":
        with session_factory() as session:
            outcome = process_visitation_request(session, ctx, key, definitions=definitions)
        return Submitted(key, definition_id, route, outcome)
    announce(key, definition_id)
    return Submitted(key, definition_id, route, None)


def check_prefect_api(url: str | None, *, key: str, timeout: float = 5.0) -> None:
    """Refuse early (the request stays stored) when the Prefect API does not answer:
    ``emit_event`` itself only logs a failed send."""
    import httpx

    reason = "PREFECT_API_URL is not set"
    if url:
        try:
            if httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200:
                return
            reason = f"{url} does not answer as a Prefect API"
        except httpx.HTTPError as exc:
            reason = f"{url} cannot be reached ({type(exc).__name__})"
    raise PrefectUnavailable(
        f"the visitation was stored as {key}, but {reason}",
        hint="start `iba serve` (it prints the API URL) and set PREFECT_API_URL to it, "
        "or use --via direct; the next dispatcher tick announces stored requests again",
    )


def announce(key: str, definition_id: str) -> None:
    """Emit ``iba.visitation.created`` for a stored request and wait until it is sent."""
    from .serving import emit_visitation_created, flush_events_sync

    check_prefect_api(OrchestrationSettings().prefect_api_url, key=key)
    try:
        emit_visitation_created(request_id=key, definition_id=definition_id)
        flush_events_sync()
    except Exception as exc:
        raise PrefectUnavailable(
            f"the visitation was stored as {key} but could not be announced to Prefect "
            f"({type(exc).__name__})",
            hint="check PREFECT_API_URL and that `iba serve` runs; the request waits in the store",
        ) from None


def wait_for_outcome(
    session_factory: SessionFactory,
    key: str,
    *,
    timeout: float,
    poll: float = 0.25,
    monotonic: Callable[[], float] = time.monotonic,
) -> RequestOutcome:
    """Poll the store until the request is processed or refused (or ``timeout`` passes)."""
    deadline = monotonic() + timeout
    while True:
        with session_factory() as session:
            outcome = request_outcome(session, key)
        if outcome.status != "received" or monotonic() >= deadline:
            return outcome
        time.sleep(poll)


def visit_through_prefect(
    *, definition: Any, wait_seconds: float | None = None, **request: Any
) -> tuple[str, RequestOutcome]:
    """The Prefect path of ``iba visit``: store, announce, and wait for the flow run of
    ``<definition> · visitation`` to process the request (``iba serve`` must run)."""
    from .runtime import runtime

    rt = runtime()
    submitted = submit_visitation(
        rt.session_factory,
        rt.context(channel="cli", actor="cli"),
        definitions={**rt.definitions, definition.id: definition},
        definition_id=definition.id,
        via="prefect",
        channel="cli",
        **request,
    )
    wait = rt.orchestration.visit_wait_seconds if wait_seconds is None else wait_seconds
    outcome = wait_for_outcome(rt.session_factory, submitted.key, timeout=wait)
    if outcome.status == "received":
        raise IbaError(
            f"visitation request {submitted.key} was sent to Prefect but not processed "
            f"within {wait:.0f} s",
            hint="is `iba serve` running against this Prefect API? The request waits in the "
            "store and is processed when it runs",
        )
    if outcome.status == "refused":
        raise IbaError(f"visitation request {submitted.key} was refused: {outcome.error}")
    return submitted.key, outcome
