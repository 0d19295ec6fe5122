"""Why something could not be placed, in Danish a coordinator understands:
"HOP-03: tirsdag er sprogskole; torsdag er sprogskole; onsdag har allerede Praktisk
undervisning (højst én blok om dagen); ingen anden ledig 3-timers blok til Praktisk
undervisning i uge 10". People appear by opaque reference only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .model import WEEKDAY_NAMES, Placement, Unplaced

if TYPE_CHECKING:
    from .grid import Availability, WeekGrid

_MAX_REFS = 3


def duration_words(minutes: int) -> str:
    """``120`` → ``2-timers``, ``90`` → ``1½-times``, ``30`` → ``30-minutters``."""
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes}-minutters"
    if rest == 0:
        return f"{hours}-times" if hours == 1 else f"{hours}-timers"
    if rest == 30:
        return f"{hours}½-times" if hours == 1 else f"{hours}½-timers"
    return f"{hours} t {rest} min."


def hours_text(minutes: int) -> str:
    """``1530`` → ``25½ t``, ``1500`` → ``25 t``, ``1510`` → ``25 t 10 min``."""
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"{hours} t"
    if rest == 30:
        return f"{hours}½ t"
    return f"{hours} t {rest} min"


def week_label(monday: dt.date) -> str:
    return f"uge {monday.isocalendar().week}"


def refs_text(refs: Sequence[str]) -> str:
    shown = ", ".join(refs[:_MAX_REFS])
    return shown + (f" +{len(refs) - _MAX_REFS}" if len(refs) > _MAX_REFS else "")


def _longest_run(free: list[bool], base: int, per_day: int) -> int:
    best = run = 0
    for s in range(per_day):
        run = run + 1 if free[base + s] else 0
        best = max(best, run)
    return best


def _blockers(people: Sequence[str], avail: dict[str, Availability], slots: range) -> str:
    found: dict[str, list[str]] = {}
    for ref in people:
        for g in slots:
            label = avail[ref].taken[g]
            if label is not None and ref not in found.setdefault(label, []):
                found[label].append(ref)
    if len(people) == 1:
        return "er " + ", ".join(found)
    return ": " + ", ".join(f"{refs_text(refs)} {label}" for label, refs in found.items())


def unplaced_reason(
    name: str,
    people: tuple[str, ...],
    length: int,
    grid: WeekGrid,
    avail: dict[str, Availability],
    placed: Sequence[Placement],
) -> str:
    """Day by day, what stands in the way of a block of ``length`` slots for ``people``."""
    free = [all(avail[r].free[g] for r in people) for g in range(grid.size)]
    index = {d.date: d.index for d in grid.days}
    parts: list[str] = []
    for offset in range(5):
        day = grid.monday + dt.timedelta(days=offset)
        dayname = WEEKDAY_NAMES[offset]
        if day in grid.closed:
            parts.append(f"{dayname} er {grid.closed[day]}")
            continue
        base = index[day] * grid.per_day
        if _longest_run(free, base, grid.per_day) < length:
            sep = " " if len(people) == 1 else ""
            slots = range(base, base + grid.per_day)
            parts.append(f"{dayname}{sep}{_blockers(people, avail, slots)}")
            continue
        mine = [p for p in placed if p.start.date() == day and set(p.people) & set(people)]
        if any(p.name == name for p in mine):
            parts.append(f"{dayname} har allerede {name} (højst én blok om dagen)")
        elif mine:
            parts.append(f"{dayname} er optaget af {', '.join(sorted({p.name for p in mine}))}")
    who = refs_text(people) if len(people) <= _MAX_REFS else f"{name} ({len(people)} personer)"
    tail = (
        f"ingen anden ledig {duration_words(length * grid.slot_minutes)} blok til {name} "
        f"i {week_label(grid.monday)}"
    )
    return f"{who}: " + "; ".join([*parts, tail])


def hours_reason(
    ref: str, placed: int, target: int, grid: WeekGrid, unplaced: Sequence[Unplaced]
) -> str:
    """Why a participant has fewer hours than her target this week."""
    parts = [f"{ref}: {hours_text(placed)} af {hours_text(target)} i {week_label(grid.monday)}"]
    if grid.closed:
        closed = ", ".join(f"{WEEKDAY_NAMES[d.weekday()]} {r}" for d, r in grid.closed.items())
        parts.append(f"lukket: {closed}")
    missing: dict[str, int] = {}
    for u in unplaced:
        missing[u.name] = missing.get(u.name, 0) + u.minutes
    if missing:
        parts.append(
            "ikke placeret: " + ", ".join(f"{n} {hours_text(m)}" for n, m in missing.items())
        )
    return "; ".join(parts)
