"""From the read model to the report's tables, with small numbers suppressed.

Every number in a table carries the count of cases behind it. A cell whose count is
above zero and under the threshold (``IBA_REPORT_MIN_CELL``, default 3) is shown as
``<3`` in every output, charts included: five women in a cohort are identifiable. A share
or a mean is suppressed with its count. Zero is shown: it identifies no one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from .readmodel import STAGES, Case, ReadModel
from .suppression import SECONDARY, Relation, column_sums, protect

Value = int | float | str | None


@dataclass(frozen=True)
class Cell:
    value: Value
    base: int | None = None  # cases behind the value; None: a label, never suppressed


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Value]] = field(default_factory=list)
    note: str | None = None


def _count(n: int) -> Cell:
    return Cell(n, n)


def _share(part: int, whole: int) -> Cell:
    if whole == 0:
        return Cell(None, 0)
    return Cell(round(100 * part / whole, 1), min(part, whole) if part else whole)


def _mean(values: list[float]) -> Cell:
    return Cell(round(fmean(values), 1) if values else None, len(values))


def build_tables(model: ReadModel, threshold: int) -> list[Table]:
    builders = (_course, _rejections, _outcomes, _attendance, _progress, _waiting)
    tables = []
    for build in builders:
        table, raw = build(model)
        relations, links = _sums(table.key, raw)
        table.rows = protect(raw, threshold, relations, links)
        tables.append(table)
    _hide_shares_of_hidden_starts(tables[0], tables[2])
    return tables


def _hide_shares_of_hidden_starts(course: Table, outcomes: Table) -> None:
    """A share of started gives the number started back: hide it where the course table
    hides that number."""
    started = {row[0]: row[5] for row in course.rows}
    for row in outcomes.rows:
        if isinstance(started.get(row[0]), str) and not isinstance(row[3], str):
            row[3] = SECONDARY


def _sums(key: str, raw: list[list[Cell]]) -> tuple[list[Relation], dict[int, list[int]]]:
    """Which cells of a table add up to which (for secondary suppression)."""
    n = len(raw)
    if key == "forloeb" and n:
        rows: list[Relation] = []
        for r in range(n):  # referred = rejected + waiting + not yet started + started
            rows.append(((r, 1), [(r, 2), (r, 3), (r, 4), (r, 5)]))
            rows.append(((r, 5), [(r, 6), (r, 8), (r, 9)]))  # started = active + early + ended
        return rows + column_sums(n, list(range(1, 11))), {}
    if key == "udfald":
        relations = []
        totals = {str(row[1].value): r for r, row in enumerate(raw) if row[0].value == "I alt"}
        for name, t in totals.items():
            parts = [
                (r, 2)
                for r, row in enumerate(raw)
                if row[0].value != "I alt" and str(row[1].value) == name
            ]
            relations.append(((t, 2), parts))
        return relations, {2: [3]}
    if key == "fremmoede" and n:
        return column_sums(n, [1, 2]), {1: [3], 2: [3]}
    return [], {}


def _cohorts(cases: list[Case]) -> list[str]:
    return sorted({c.cohort for c in cases if c.decision != "rejected"})


def _course(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table(
        "forloeb",
        "Forløb pr. hold",
        [
            "Hold",
            "Henvist",
            "Afvist",
            "Venter",
            "Ikke startet endnu",
            "Startet",
            "Aktive",
            "Heraf på pause",
            "Afbrudt før tid",
            "Afsluttet",
            "Med udfald",
        ],
        note="Status ved periodens slutning. Henvist = visitationer holdt i perioden.",
    )

    def row(label: str, cases: list[Case]) -> list[Cell]:
        s = Counter(c.status for c in cases)
        return [
            Cell(label),
            _count(len(cases)),
            _count(s["afvist"]),
            _count(s["venter"]),
            _count(s["ikke_startet"]),
            _count(sum(1 for c in cases if c.started_on is not None)),
            _count(s["aktiv"]),
            _count(sum(1 for c in cases if c.paused)),
            _count(s["afbrudt"]),
            _count(s["afsluttet"]),
            _count(sum(1 for c in cases if c.outcome)),
        ]

    raw = [row(h, [c for c in model.cases if c.cohort == h]) for h in _cohorts(model.cases)]
    rejected = [c for c in model.cases if c.decision == "rejected"]
    if rejected:
        raw.append(row("Ikke optaget", rejected))
    raw.append(row("I alt", model.cases))
    return t, raw


def _rejections(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table("afvisninger", "Afvisningsårsager", ["Årsag", "Antal"])
    reasons = Counter((c.reason or "(ingen årsag)") for c in model.cases if c.status == "afvist")
    raw = [[Cell(r), _count(n)] for r, n in sorted(reasons.items())]
    return t, raw  # the total is the course table's "Afvist" (shown there or hidden)


def _outcomes(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table(
        "udfald",
        "Udfald pr. hold",
        ["Hold", "Udfald", "Antal", "Andel af startede (%)"],
        note="Det seneste udfald pr. forløb (lønnede timer/job, uddannelse, praktik, "
        "forlængelse, andet tilbud, raskmelding).",
    )
    raw: list[list[Cell]] = []
    groups = [(h, [c for c in model.cases if c.cohort == h]) for h in _cohorts(model.cases)]
    for label, cases in [*groups, ("I alt", model.cases)]:
        started = sum(1 for c in cases if c.started_on is not None)
        counts = Counter(c.outcome for c in cases if c.outcome)
        for outcome in sorted(counts):
            n = counts[outcome]
            name = model.outcome_names.get(outcome, outcome)
            raw.append([Cell(label), Cell(name), _count(n), _share(n, started)])
    return t, raw


def _attendance(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table(
        "fremmoede",
        "Fremmøde pr. uge",
        ["Uge", "Registreringer", "Fremmødt", "Fremmøde (%)"],
        note="Skjules, når færre borgere end grænsen står bag en uge.",
    )
    weeks: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for c in model.cases:
        for day, present in c.attendance:
            weeks[_week(day)].append((c.visitation_id, present))
    raw: list[list[Cell]] = []
    everyone: set[int] = set()
    total = present_total = 0
    for week in sorted(weeks):
        marks = weeks[week]
        people = len({who for who, _ in marks})
        everyone |= {who for who, _ in marks}
        here = sum(1 for _, p in marks if p)
        total, present_total = total + len(marks), present_total + here
        raw.append(
            [
                Cell(week),
                Cell(len(marks), people),
                Cell(here, people),
                Cell(round(100 * here / len(marks), 1), people),
            ]
        )
    if total:
        share = round(100 * present_total / total, 1)
        n = len(everyone)
        raw.append([Cell("I alt"), Cell(total, n), Cell(present_total, n), Cell(share, n)])
    return t, raw


def _week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-U{week:02d}"


def _progress(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table(
        "progression",
        "Progression start → midtvejs → slut (gennemsnit)",
        ["Dimension", "Start", "n start", "Midtvejs", "n midtvejs", "Slut", "n slut"],
        note="Helbredsværdier kun med borgerens samtykke (sundhedsloven § 15).",
    )
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in model.cases:
        for m in c.measures:
            values[m.dimension][m.stage].append(m.value)
    raw = []
    for dim in sorted(values, key=lambda d: model.dimension_names.get(d, d)):
        row = [Cell(model.dimension_names.get(dim, dim))]
        for stage in STAGES:
            found = values[dim][stage]
            row += [_mean(found), _count(len(found))]
        raw.append(row)
    return t, raw


def _waiting(model: ReadModel) -> tuple[Table, list[list[Cell]]]:
    t = Table("ventetid", "Ventetid og tid til start", ["Mål", "Antal", "Gennemsnit (dage)"])
    waited = [float(c.waited_days) for c in model.cases if c.waited_days is not None]
    to_start = [
        float((c.started_on - c.held_on).days) for c in model.cases if c.started_on is not None
    ]
    raw = [
        [Cell("Dage på venteliste"), _count(len(waited)), _mean(waited)],
        [Cell("Dage fra visitation til start"), _count(len(to_start)), _mean(to_start)],
    ]
    return t, raw
