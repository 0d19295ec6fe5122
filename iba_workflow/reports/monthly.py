"""The monthly report of every intervention: files under ``<data_dir>/reports`` and the
payloads the Prefect flow attaches as artifacts (suppressed tables and charts only: no
personal data, no ids of citizens)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from iba_workflow.errors import InvalidInput

from .build import Report, build_report
from .render import FORMATS, render


def previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


@dataclass
class MonthlyOutput:
    report: Report
    files: list[Path] = field(default_factory=list)

    def artifact_tables(self) -> list[tuple[str, list[dict[str, object]], str]]:
        """(key, rows as column→cell, description) per table, for Prefect."""
        out = []
        for t in self.report.tables:
            key = f"rapport-{self.report.definition_id}-{t.key}".replace("_", "-").lower()
            rows: list[dict[str, object]] = [dict(zip(t.columns, r, strict=True)) for r in t.rows]
            out.append((key, rows, f"{self.report.name}: {t.title}"))
        return out

    def artifact_markdown(self) -> str:
        r = self.report
        lines = [f"# {r.name}: {r.period_from:%Y-%m}", ""]
        lines.append(f"Små tal under {r.threshold} er skjult. Filer: {len(self.files)}.")
        for c in r.charts:
            data = base64.b64encode(c.png).decode("ascii")
            lines += ["", f"## {c.title}", "", f"![{c.title}](data:image/png;base64,{data})"]
        return "\n".join(lines) + "\n"


def monthly_reports(
    session: Session,
    *,
    definition_ids: list[str],
    today: dt.date,
    threshold: int,
    out_dir: Path,
) -> list[MonthlyOutput]:
    """Last month's report of each intervention that has been used, in every format."""
    period_from, period_to = previous_month(today)
    outputs = []
    for definition_id in sorted(definition_ids):
        try:
            report = build_report(
                session,
                definition_id=definition_id,
                period_from=period_from,
                period_to=period_to,
                threshold=threshold,
                made_on=today,
            )
        except InvalidInput:  # never used in this store: nothing to report
            continue
        made = MonthlyOutput(report)
        folder = out_dir / definition_id
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            path = folder / f"{period_from:%Y-%m}.{fmt}"
            path.write_bytes(render(report, fmt))
            made.files.append(path)
        outputs.append(made)
    return outputs
