"""Compile definitions into Prefect flows, tasks and deployments.

For each definition (``fagmentor``, version 1):

- a flow ``fagmentor · visitation`` (entry point ``flows.visitation.fagmentor``) that
  processes a received visitation request into an enrollment, started by the event
  ``iba.visitation.created`` of that definition (a ``DeploymentEventTrigger``);
- one task per step, run by the dispatcher for the mails of that step:
  ``fagmentor · opstartsmøde · send`` (no Prefect retries: a failed mail waits in the
  outbox as the one retry policy, ``mail.backoff``, says, and a later tick sends it);
- a deployment named after the definition, tagged ``iba``, ``definition:fagmentor``,
  ``version:1``.

Plus the deployment ``iba · dispatcher`` on an interval schedule. The flows' bodies live
in ``flows/`` (thin shells); this module only names, tags and wires them. Prefect is
imported inside the functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from iba_workflow.definition import Definition

from .serving import visitation_trigger

if TYPE_CHECKING:
    from prefect import Flow, Task
    from prefect.deployments.runner import RunnerDeployment

DISPATCHER_FLOW = "iba · dispatcher"
DISPATCHER_DEPLOYMENT = "iba"
VISITATION_MODULE = "flows.visitation"
SendBody = Callable[..., Awaitable[dict[str, int]]]
VisitationBody = Callable[[str, str], Awaitable[Any]]


def tags_for(d: Definition) -> list[str]:
    return ["iba", f"definition:{d.id}", f"version:{d.version}"]


def visitation_flow_name(definition_id: str) -> str:
    return f"{definition_id} · visitation"


def visitation_deployment_name(definition_id: str) -> str:
    """``<flow name>/<deployment name>`` as the Prefect API reads it back."""
    return f"{visitation_flow_name(definition_id)}/{definition_id}"


def dispatcher_deployment_name() -> str:
    return f"{DISPATCHER_FLOW}/{DISPATCHER_DEPLOYMENT}"


def send_task_name(definition_id: str, step_name: str | None) -> str:
    if step_name is None:
        return f"{definition_id} · send"
    return f"{definition_id} · {step_name.lower()} · send"


def compile_visitation_flow(d: Definition, body: VisitationBody) -> Flow[..., Any]:
    """The flow ``<id> · visitation`` whose one parameter is the opaque request key."""
    from prefect import flow

    definition_id = d.id

    async def visitation(request_id: str) -> Any:
        return await body(definition_id, request_id)

    visitation.__name__ = visitation.__qualname__ = definition_id
    visitation.__module__ = VISITATION_MODULE
    visitation.__doc__ = f"Process a received visitation into an enrollment: {d.name}."
    return flow(
        name=visitation_flow_name(definition_id),
        flow_run_name=f"{visitation_flow_name(definition_id)} · {{request_id}}",
        version=str(d.version),
        validate_parameters=True,
    )(visitation)


@dataclass
class SendTasks:
    """The send tasks of one definition, by step id (``None``: mails of no step)."""

    definition_id: str
    by_step: dict[str | None, Task[..., Any]] = field(default_factory=dict)

    def for_step(self, step_id: str | None) -> Task[..., Any]:
        return self.by_step.get(step_id) or self.by_step[None]


def compile_send_tasks(d: Definition, body: SendBody) -> SendTasks:
    """One task per step of ``d`` (and one for mails that belong to no step)."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    tasks = SendTasks(d.id)
    for step_id, step_name in [(s.id, s.name) for s in d.steps] + [(None, None)]:
        tasks.by_step[step_id] = task(
            name=send_task_name(d.id, step_name),
            cache_policy=NO_CACHE,
            persist_result=False,
            tags=tags_for(d),
        )(body)
    return tasks


def build_deployments(
    *,
    definitions: Mapping[str, Definition],
    visitation_flows: Mapping[str, Flow[..., Any]],
    dispatcher_flow: Flow[..., Any],
    interval_seconds: float,
) -> list[RunnerDeployment]:
    """Every deployment ``iba serve`` registers: the dispatcher and one visitation
    deployment per definition."""
    from prefect.deployments.runner import EntrypointType

    deployments = [
        dispatcher_flow.to_deployment(
            name=DISPATCHER_DEPLOYMENT,
            interval=dt.timedelta(seconds=interval_seconds),
            tags=["iba", "dispatcher"],
            description="Every tick: what is due becomes mail; the outbox is sent in batches.",
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    ]
    for definition_id, d in sorted(definitions.items()):
        deployments.append(
            visitation_flows[definition_id].to_deployment(
                name=definition_id,
                triggers=[visitation_trigger(definition_id)],
                tags=tags_for(d),
                version=str(d.version),
                description=f"{d.name}: a received visitation becomes an enrollment.",
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    # to_deployment is sync-compatible: called here, outside an event loop, it returns
    # the deployment itself, never the coroutine its signature also allows
    return cast("list[RunnerDeployment]", deployments)
