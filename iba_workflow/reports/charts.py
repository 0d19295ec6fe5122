"""Charts for the report, drawn with matplotlib's Agg canvas (no browser, no display).

Drawn from the finished tables, so a suppressed cell is never drawn: its place shows
``<3``. Readable in grey-scale print: bars carry hatching and lines carry markers and
dash patterns, never colour alone. Labels are Danish.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .tables import Table, Value

HATCHES = ("///", "...", "xx", "\\\\", "oo", "--", "++", "**")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "--", "-.", ":")
GREYS = ("0.25", "0.55", "0.8", "0.4", "0.7", "0.15", "0.9", "0.6")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    png: bytes


def _number(value: Value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(7.0, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _by_key(tables: list[Table]) -> dict[str, Table]:
    return {t.key: t for t in tables}


def build_charts(tables: list[Table]) -> list[Chart]:
    t = _by_key(tables)
    return [
        _funnel(t["forloeb"]),
        _outcomes(t["udfald"]),
        _attendance(t["fremmoede"]),
        _progress(t["progression"]),
    ]


def _funnel(course: Table) -> Chart:
    total = next(r for r in course.rows if r[0] == "I alt")
    steps = [("Henvist", total[1]), ("Startet", total[5]), ("Afsluttet", total[9])]
    steps.append(("Med registreret udfald", total[10]))
    fig, ax = _figure()
    for i, (_label, value) in enumerate(steps):
        n = _number(value)
        ax.barh(i, n or 0, color=GREYS[i], edgecolor="black", hatch=HATCHES[i])
        ax.text((n or 0) + 0.1, i, str(value), va="center")
    ax.set_yticks(range(len(steps)), [s[0] for s in steps])
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Antal borgere")
    ax.set_title("Fra henvisning til udfald")
    return Chart("tragt", "Fra henvisning til udfald", _png(fig))


def _outcomes(table: Table) -> Chart:
    rows = [r for r in table.rows if r[0] != "I alt"]
    cohorts = sorted({str(r[0]) for r in rows})
    names = sorted({str(r[1]) for r in rows})
    fig, ax = _figure()
    width = min(0.8 / max(len(names), 1), 0.3)
    labelled: set[str] = set()
    for j, name in enumerate(names):
        for i, cohort in enumerate(cohorts):
            cell = next((r[2] for r in rows if r[0] == cohort and r[1] == name), None)
            if cell is None:
                continue
            x = i + (j - (len(names) - 1) / 2) * width
            n = _number(cell)
            ax.bar(
                x,
                n or 0,
                width,
                color=GREYS[j % len(GREYS)],
                edgecolor="black",
                hatch=HATCHES[j % len(HATCHES)],
                label=None if name in labelled else name,
            )
            labelled.add(name)
            ax.text(x, (n or 0) + 0.05, str(cell), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(cohorts)), cohorts)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.6, len(cohorts) - 0.4)
    ax.set_ylabel("Antal forløb")
    ax.set_title("Udfald pr. hold")
    if names:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart("udfald", "Udfald pr. hold", _png(fig))


def _attendance(table: Table) -> Chart:
    rows = [r for r in table.rows if r[0] != "I alt"]
    fig, ax = _figure()
    xs = list(range(len(rows)))
    ys = [_number(r[3]) for r in rows]
    shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if shown:
        ax.plot(*zip(*shown, strict=True), marker="o", color="black", linestyle="-")
    for x, r in zip(xs, rows, strict=True):
        if _number(r[3]) is None:
            ax.text(x, 5, str(r[3]), ha="center")
    ax.set_xticks(xs, [str(r[0]) for r in rows], rotation=45, ha="right", fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("Fremmøde (%)")
    ax.set_title("Fremmøde over ugerne")
    return Chart("fremmoede", "Fremmøde over ugerne", _png(fig))


def _progress(table: Table) -> Chart:
    fig, ax = _figure()
    stages = ["Start", "Midtvejs", "Slut"]
    for i, r in enumerate(table.rows):
        points = [(x, _number(r[1 + 2 * x])) for x in range(3)]
        xs = [x for x, y in points if y is not None]
        ys = [y for _, y in points if y is not None]
        if not xs:
            continue
        ax.plot(
            xs,
            ys,
            marker=MARKERS[i % len(MARKERS)],
            linestyle=DASHES[i % len(DASHES)],
            color="black",
            label=str(r[0]),
        )
    ax.set_xticks(range(3), stages)
    ax.set_ylabel("Gennemsnit på skalaen")
    ax.set_title("Progression fra start til slut")
    if table.rows:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart("progression", "Progression fra start til slut", _png(fig))
