"""One report: an intervention over a period, its tables and charts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from iba_workflow.errors import InvalidInput

from .readmodel import read_model
from .tables import Table, build_tables

if TYPE_CHECKING:
    from .charts import Chart


@dataclass(frozen=True)
class Report:
    definition_id: str
    name: str
    period_from: dt.date
    period_to: dt.date
    threshold: int
    made_on: dt.date
    cases: int
    tables: list[Table]
    charts: list[Chart]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def to_json(self) -> dict[str, object]:
        """The tables as plain data (charts are pictures of the same numbers)."""
        return {
            "indsats": self.definition_id,
            "navn": self.name,
            "periode": {"fra": self.period_from.isoformat(), "til": self.period_to.isoformat()},
            "lavt_antal_graense": self.threshold,
            "udarbejdet": self.made_on.isoformat(),
            "tabeller": {
                t.key: {"titel": t.title, "kolonner": t.columns, "raekker": t.rows, "note": t.note}
                for t in self.tables
            },
        }


def build_report(
    session: Session,
    *,
    definition_id: str,
    period_from: dt.date,
    period_to: dt.date,
    threshold: int,
    made_on: dt.date,
    charts: bool = True,
) -> Report:
    if period_to < period_from:
        raise InvalidInput(
            "the period ends before it starts", hint="give --from before --to (YYYY-MM-DD)"
        )
    model = read_model(session, definition_id, period_from, period_to)
    if not model.cases and model.name == definition_id:
        raise InvalidInput(
            f"no intervention '{definition_id}' has been used in this store",
            hint="give the id of an intervention with visitations (see: iba status)",
        )
    tables = build_tables(model, threshold)
    if charts:  # matplotlib (0.9 s to import) only for the formats that draw
        from .charts import build_charts
    return Report(
        definition_id,
        model.name,
        period_from,
        period_to,
        threshold,
        made_on,
        len(model.cases),
        tables,
        build_charts(tables) if charts else [],
    )
