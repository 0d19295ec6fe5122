"""``iba · monthly report`` (on the 2nd of each month) and ``iba · retention`` (daily):
thin shells over ``reports.monthly`` and ``privacy.retention``. Artifacts carry the
suppressed tables, the charts and counts: never personal data."""

from __future__ import annotations

from prefect import flow

MONTHLY_CRON = "0 6 2 * *"
RETENTION_CRON = "30 2 * * *"


@flow(name="iba · monthly report", flow_run_name="iba · monthly report", log_prints=False)
def monthly_report(month: str | None = None) -> str:
    """Last month's report of every intervention (or ``month``, YYYY-MM), as files and
    artifacts."""
    import datetime as dt

    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from iba_workflow.clock import SystemClock, local_today
    from iba_workflow.orchestration.runtime import runtime
    from iba_workflow.reports.monthly import monthly_reports

    rt = runtime()
    with rt.session_factory() as session:
        outputs = monthly_reports(
            session,
            definition_ids=list(rt.definitions),
            today=(
                dt.date.fromisoformat(f"{month}-01") + dt.timedelta(days=31)
                if month
                else local_today(SystemClock())
            ),
            threshold=rt.settings.report_min_cell,
            out_dir=rt.settings.data_dir / "reports",
        )
    for made in outputs:
        for key, rows, description in made.artifact_tables():
            create_table_artifact(rows, key=key, description=description)
        create_markdown_artifact(
            made.artifact_markdown(),
            key=f"rapport-{made.report.definition_id}-figurer".replace("_", "-"),
            description=f"{made.report.name}: figurer",
        )
    return f"{len(outputs)} rapporter"


@flow(name="iba · retention", flow_run_name="iba · retention", log_prints=False)
def retention(dry_run: bool = False, today: str | None = None) -> str:
    """Delete personal data past its retention period; report the counts. ``today``
    (YYYY-MM-DD) replaces the clock's date, for a catch-up run."""
    import datetime as dt

    from prefect.artifacts import create_table_artifact

    from iba_workflow.clock import SystemClock, local_today
    from iba_workflow.orchestration.runtime import runtime
    from iba_workflow.privacy.retention import run_retention

    rt = runtime()
    with rt.session_factory() as session:
        plan = run_retention(
            session,
            today=dt.date.fromisoformat(today) if today else local_today(SystemClock()),
            periods=rt.settings.retention_years,
            apply=not dry_run,
            actor="flow:retention",
            at=SystemClock().now(),
        )
        session.commit()
    rows = [{"hvad": k, "antal": n} for k, n in plan.counts.items()]
    rows += [{"hvad": f"{k}.borgere", "antal": len(v)} for k, v in plan.citizens.items()]
    create_table_artifact(rows, key="retention", description="Sletning efter opbevaringsperiode")
    return plan.summary()


def privacy_deployments() -> list[object]:
    from prefect.deployments.runner import EntrypointType

    return [
        monthly_report.to_deployment(
            name="monthly-report",
            cron=MONTHLY_CRON,
            tags=["iba", "report"],
            description="Sidste måneds rapport for hver indsats (små tal skjult).",
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
        retention.to_deployment(
            name="retention",
            cron=RETENTION_CRON,
            tags=["iba", "privacy"],
            description="Sletter personoplysninger efter opbevaringsperioden; tæller.",
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]
