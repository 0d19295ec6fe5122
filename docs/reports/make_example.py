"""Make the README's example report: the story of tests/reports/report_world.py (built
through the engine) in a temporary SQLite store, its report in every format, and the
funnel chart as PNG. Run: python docs/reports/make_example.py"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "reports"))

from report_world import PERIOD, seed  # noqa: E402

from iba_workflow.reports import build_report, render  # noqa: E402
from iba_workflow.store import make_engine, session_factory, upgrade  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/iba.sqlite3")
        upgrade(engine)
        with session_factory(engine)() as session:
            seed(session)
            report = build_report(
                session,
                definition_id="sunde_kvinder",
                period_from=PERIOD[0],
                period_to=PERIOD[1],
                threshold=3,
                made_on=dt.date(2028, 1, 5),
            )
        engine.dispose()
    for chart in report.charts:
        (HERE / f"{chart.key}.png").write_bytes(chart.png)
    (HERE / "sunde_kvinder_2027.pdf").write_bytes(render(report, "pdf"))
    table = report.table("forloeb")
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.rows:
        print("| " + " | ".join("–" if v is None else str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
