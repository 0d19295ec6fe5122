"""``iba handover``: the proposals an outcome made for another intervention (a handover,
e.g. Sunde kvinder → Fagmentor), listed and decided by that intervention's coordinator
with the eligibility checklist, as any visitation."""

from __future__ import annotations

from typing import Annotated

import typer

from iba_workflow.cpr_guard import refuse_cpr

from .app import app
from .common import (
    DateOpt,
    definition_by_ref,
    key_values,
    out,
    run_command,
    store_session,
    yes_no,
)
from .engine_render import print_impact

handover_app = typer.Typer(
    help="Handover proposals between interventions: list and decide.", no_args_is_help=True
)
app.add_typer(handover_app, name="handover")


@handover_app.command("list")
def list_proposals(
    definition: Annotated[
        str | None, typer.Option(help="Only proposals for this intervention.")
    ] = None,
) -> None:
    """Proposals waiting for a decision, oldest first."""
    from iba_workflow.engine.handover import proposal, proposed_handovers

    def act() -> None:
        with store_session() as (session, _ctx):
            rows = proposed_handovers(session, definition_id=definition)
            if not rows:
                out.print("no handover proposals waiting")
                return
            for row in rows:
                _, ref = proposal(session, row.id or 0)
                out.print(
                    f"{row.id:>5}  {row.definition_id:<20} citizen {ref:<12} "
                    f"proposed {row.received_at:%Y-%m-%d}"
                )

    run_command(act)


@handover_app.command("decide")
def decide(
    proposal_id: Annotated[int, typer.Argument(metavar="PROPOSAL", help="From: iba handover list")],
    accept: Annotated[bool, typer.Option(help="Accept into the intervention.")] = False,
    reject: Annotated[str | None, typer.Option(help="Reject, with the reason.")] = None,
    start: DateOpt = None,
    cohort: Annotated[str | None, typer.Option(help="Cohort id (fælles start).")] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(help="Eligibility: CRITERION=yes|no, every criterion to accept."),
    ] = None,
) -> None:
    """Decide a proposal: a visitation of the proposed intervention for its citizen."""
    from iba_workflow.engine.handover import decide_handover, proposal

    def act() -> None:
        if reject is not None:
            refuse_cpr(reject, where="text", field="--reject")
        answers = {k: yes_no(v) for k, v in key_values(answer, "--answer").items()} or None
        with store_session() as (session, ctx):
            row, _ref = proposal(session, proposal_id)
            definition = definition_by_ref(row.definition_id)
            result = decide_handover(
                session, ctx, request_id=proposal_id, definition=definition,
                accept=accept, reject_reason=reject, answers=answers,
                start=start.date() if start else None, cohort=cohort,
            )  # fmt: skip
            decided = f"visitation {result.visitation_id}, {result.decision}"
            out.print(f"proposal {proposal_id}: {decided}")
            if result.enrollment_id is not None:
                out.print(f"enrollment {result.enrollment_id}, start {result.start}")
                print_impact(out, result.steps)

    run_command(act)
