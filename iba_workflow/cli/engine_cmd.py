"""Commands over the record: db, staff, citizen, consent, visit, status, complete, replan,
migrate, simulate. A composition root: the store and the engine's context come from
``common.store_session`` (Settings, a SystemClock)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from iba_workflow import paths
from iba_workflow.cpr_guard import refuse_cpr
from iba_workflow.errors import InvalidInput

from .app import app
from .common import (
    DateOpt,
    citizen_app,
    db_app,
    definition_by_ref,
    key_values,
    out,
    run_command,
    staff_app,
    store_engine,
    store_session,
    yes_no,
)
from .engine_render import print_impact, print_status, print_steps, print_timeline


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from iba_workflow.store import upgrade
    from iba_workflow.store.db import current_revision

    def act() -> None:
        engine = store_engine()
        upgrade(engine)
        out.print(f"database at revision {current_revision(engine)}")
        engine.dispose()

    run_command(act)


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Work e-mail (notifications go here).")],
    role: Annotated[list[str], typer.Option(help="A role id, e.g. iba (repeatable).")],
    municipality: Annotated[str, typer.Option(help="e.g. hedensted")] = "hedensted",
    coordinates: Annotated[
        list[str] | None,
        typer.Option(
            help="An intervention (definition id) this person coordinates in her "
            "municipality: she sees its enrollments and citizens (repeatable)."
        ),
    ] = None,
) -> None:
    """Add a staff member with one or more roles (role admin: manages staff and keys)."""
    from iba_workflow.engine import add_staff
    from iba_workflow.identity.staff import add_coordinates

    def act() -> None:
        for ref in coordinates or []:
            d = definition_by_ref(ref)
            if d.municipality != municipality:
                raise InvalidInput(
                    f"'{d.id}' is run by {d.municipality}, not by {municipality}",
                    hint=f"coordinate it from {d.municipality}, or leave out --coordinates {ref}",
                )
        with store_session() as (session, ctx):
            row = add_staff(
                session, ctx, name=name, email=email, roles=role, municipality=municipality
            )
            ids = [definition_by_ref(ref).id for ref in coordinates or []]
            add_coordinates(session, row.id or 0, ids, now=ctx.now(), actor=ctx.actor)
            session.commit()
            what = f"; coordinates {', '.join(ids)}" if ids else ""
            out.print(f"staff {row.id} added with roles {', '.join(row.roles)}{what}")

    run_command(act)


@citizen_app.command("add")
def citizen_add(
    ref: Annotated[str, typer.Argument(help="An opaque reference (never a CPR number).")],
    municipality: Annotated[str, typer.Option()] = "hedensted",
) -> None:
    """Register a citizen under an opaque reference."""
    from iba_workflow.engine import register_citizen

    def act() -> None:
        refuse_cpr(ref, where="reference", field="REF")
        with store_session() as (session, ctx):
            row = register_citizen(session, ctx, ref=ref, municipality=municipality)
            out.print(f"citizen {row.ref} registered (id {row.id})")

    run_command(act)


@app.command()
def consent(
    citizen: Annotated[str, typer.Argument(help="The citizen's reference.")],
    given: Annotated[bool, typer.Option("--given/--withdrawn", help="Give or withdraw.")] = True,
) -> None:
    """Record consent to health data (sundhedsloven § 15), or its withdrawal."""
    from iba_workflow.engine import record_consent

    def act() -> None:
        with store_session() as (session, ctx):
            record_consent(session, ctx, citizen_ref=citizen, given=given)
            out.print(f"consent {'given' if given else 'withdrawn'} for {citizen}")

    run_command(act)


@app.command()
def visit(
    definition: Annotated[str, typer.Argument(help="An id (fagmentor) or a path.")],
    citizen: Annotated[str, typer.Option(help="The citizen's reference.")],
    accept: Annotated[bool, typer.Option(help="Accept into the intervention.")] = False,
    reject: Annotated[str | None, typer.Option(help="Reject, with the reason.")] = None,
    start: DateOpt = None,
    cohort: Annotated[str | None, typer.Option(help="Cohort id (fælles start).")] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(help="Eligibility: CRITERION=yes|no, every criterion to accept."),
    ] = None,
    via: Annotated[
        str,
        typer.Option(
            help="auto: through Prefect when PREFECT_API_URL is set (iba serve processes it), "
            "else directly; or prefect / direct."
        ),
    ] = "auto",
) -> None:
    """Record a visitation: accepted (enrollment and plan) or rejected with a reason."""
    from iba_workflow.engine import record_visitation
    from iba_workflow.orchestration.doors import resolve_via

    def act() -> None:
        refuse_cpr(citizen, where="reference", field="--citizen")
        if reject is not None:
            refuse_cpr(reject, where="text", field="--reject")
        answers = {k: yes_no(v) for k, v in key_values(answer, "--answer").items()} or None
        if via not in ("auto", "prefect", "direct"):
            raise InvalidInput(f"--via {via!r} is not auto, prefect or direct")
        if resolve_via(via) == "prefect":  # type: ignore[arg-type]
            from iba_workflow.orchestration.doors import visit_through_prefect

            key, outcome = visit_through_prefect(
                definition=definition_by_ref(definition),
                citizen_ref=citizen,
                accept=accept,
                reject_reason=reject,
                answers=answers,
                start=start.date() if start else None,
                cohort=cohort,
            )
            out.print(f"request {key} processed by Prefect")
            out.print(f"visitation {outcome.visitation_id}: {outcome.decision}")
            if outcome.enrollment_id is not None:
                out.print(f"enrollment {outcome.enrollment_id} (see: iba status)")
            return
        with store_session() as (session, ctx):
            result = record_visitation(
                session,
                ctx,
                citizen_ref=citizen,
                definition=definition_by_ref(definition),
                accept=accept,
                reject_reason=reject,
                answers=answers,
                start=start.date() if start else None,
                cohort=cohort,
            )
            out.print(f"visitation {result.visitation_id}: {result.decision}")
            if result.enrollment_id is not None:
                out.print(f"enrollment {result.enrollment_id}, start {result.start}")
                print_impact(out, result.steps)

    run_command(act)


@app.command()
def status(
    enrollment: Annotated[int | None, typer.Argument(help="An enrollment id.")] = None,
) -> None:
    """List enrollments, or show one enrollment's steps."""
    from iba_workflow.engine import enrollment_steps, list_enrollments

    def act() -> None:
        with store_session() as (session, _ctx):
            if enrollment is None:
                print_status(out, list_enrollments(session))
            else:
                row, steps = enrollment_steps(session, enrollment)
                print_steps(out, row, steps)

    run_command(act)


@app.command()
def complete(
    step: Annotated[int, typer.Argument(metavar="STEP_ID", help="A step id from iba status.")],
    outcome: Annotated[str | None, typer.Option(help="The outcome, for decisions.")] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="Entered data KEY=VALUE; a weekly absence list: absent_on=DAY,DAY "
            "(none absent: absent_days=0)."
        ),
    ] = None,
    skip: Annotated[bool, typer.Option(help="Skip the step instead.")] = False,
) -> None:
    """Complete a step (idempotent: the same completion twice changes nothing)."""
    from iba_workflow.engine import complete_step

    def act() -> None:
        with store_session() as (session, ctx):
            result = complete_step(
                session,
                ctx,
                step_instance_id=step,
                outcome=outcome,
                data=key_values(data, "--data"),
                skip=skip,
            )
            if result.already_done:
                out.print(f"step {step} was already completed; nothing changed")
            else:
                out.print(f"step {step} done; enrollment {result.enrollment_status}")
                print_impact(out, result.changes)

    run_command(act)


@app.command(name="replan")
def replan_cmd(
    enrollment: Annotated[int, typer.Argument(help="An enrollment id.")],
    pause: Annotated[str | None, typer.Option(help="Sick leave FROM..TO (dates).")] = None,
    extend: Annotated[int | None, typer.Option(help="Extend by WEEKS.")] = None,
    exit_: Annotated[
        dt.datetime | None,
        typer.Option("--exit", formats=["%Y-%m-%d"], help="Early exit on DATE."),
    ] = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option("--start", formats=["%Y-%m-%d"], help="Move the start to DATE."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the impact, write nothing.")] = False,
) -> None:
    """Pause, extend, exit early or move the start; shows the impact per step."""
    from iba_workflow.engine import replan

    def act() -> None:
        window = _pause(pause) if pause else None
        with store_session() as (session, ctx):
            result = replan(
                session,
                ctx,
                enrollment_id=enrollment,
                pause=window,
                extend_weeks=extend,
                exit_on=exit_.date() if exit_ else None,
                new_start=start.date() if start else None,
                dry_run=dry_run,
            )
            print_impact(out, result.lines)
            out.print("dry run: nothing written" if dry_run else "written")

    run_command(act)


def _pause(text: str) -> tuple[dt.date, dt.date]:
    try:
        first, last = text.split("..", 1)
        return dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
    except ValueError:
        raise InvalidInput(
            f"--pause {text!r} is not FROM..TO", hint="e.g. --pause 2027-04-05..2027-04-16"
        ) from None


@app.command(name="migrate")
def migrate_cmd(
    definition: Annotated[str, typer.Argument(help="An id or a path.")],
    to_version: Annotated[int, typer.Option(help="The version in the definition file.")],
    preview: Annotated[
        bool, typer.Option("--preview/--apply", help="Preview (default) or apply.")
    ] = True,
) -> None:
    """Move running enrollments to a new definition version (preview first)."""
    from iba_workflow.engine import migrate_enrollments

    def act() -> None:
        d = definition_by_ref(definition)
        if d.version != to_version:
            raise InvalidInput(
                f"the definition file of '{d.id}' is version {d.version}, not {to_version}",
                hint="deploy the file of that version first",
            )
        with store_session() as (session, ctx):
            previews = migrate_enrollments(session, ctx, definition=d, apply=not preview)
        if not previews:
            out.print(f"no running enrollments of '{d.id}' on an older version")
        for p in previews:
            head = f"enrollment {p.enrollment_id}: v{p.from_version} → v{p.to_version}"
            out.print(head + (f"  cannot migrate: {p.problem}" if p.problem else ""))
            print_impact(out, p.lines)
        out.print("preview: nothing changed (use --apply)" if preview else "applied")

    run_command(act)


@app.command()
def simulate(
    definition: Annotated[str | None, typer.Argument(help="An id or a path.")] = None,
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Start date.")
    ] = None,
    participants: Annotated[int | None, typer.Option(help="How many (default 1).")] = None,
    script: Annotated[Path | None, typer.Option(help="A YAML script of what happens.")] = None,
    database: Annotated[
        str | None, typer.Option(help="A database URL (default: a temporary SQLite file).")
    ] = None,
    budget: Annotated[
        bool,
        typer.Option(
            "--budget",
            help="Send through the dispatcher to a local SMTP server and print "
            "the mails per person, ISO week and kind.",
        ),
    ] = False,
    scenario: Annotated[
        str | None, typer.Option(help="A named mix for --budget: hop, caseload.")
    ] = None,
    mix: Annotated[
        list[str] | None,
        typer.Option(help="For --budget: DEFINITION:PARTICIPANTS:START[:COHORT] (repeatable)."),
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="--budget as JSON lines.")] = False,
) -> None:
    """Run a lifecycle in simulated time on a real store; print what was sent and recorded
    (or, with --budget, how many mails each person gets per week and kind)."""
    from iba_workflow.engine import calendars_from
    from iba_workflow.simulate import Simulation, SimulationScript, load_script
    from iba_workflow.store import session_factory, upgrade
    from iba_workflow.timeline import timeline

    if budget or scenario or mix:
        from .budget_cmd import run_budget

        run_command(
            lambda: run_budget(out, definition, start, participants, scenario, mix, json_lines)
        )
        return

    def act() -> None:
        if definition is None or start is None:
            raise InvalidInput(
                "simulate needs a definition and --start",
                hint="iba simulate hop --start 2027-03-01, or iba simulate --scenario caseload",
            )
        d = definition_by_ref(definition)
        plan = load_script(script) if script else SimulationScript()
        with tempfile.TemporaryDirectory() as tmp:
            engine = store_engine(database or f"sqlite:///{Path(tmp) / 'simulation.sqlite3'}")
            upgrade(engine)
            sim = Simulation(
                session_factory(engine),
                d,
                calendars_from(paths.calendars_dir()),
                start.date(),
                plan,
                participants or plan.participants or 1,
            )
            sim.run()
            with session_factory(engine)() as session:
                print_timeline(out, timeline(session))
            engine.dispose()

    run_command(act)
