"""What moved between two schedules: after one person's fixed days change, the solver runs
again and the coordinator sees the impact, like a replan's impact report."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from .grid import TZ
from .model import WEEKDAY_NAMES, Placement, Solution
from .reasons import week_label


@dataclass(frozen=True)
class ScheduleChange:
    """One item of one week: moved, newly placed or no longer placed."""

    key: str
    week: dt.date
    change: str  # "flyttet", "placeret", "ikke længere placeret"
    before: str | None
    after: str | None
    reason: str | None = None

    def describe(self) -> str:
        text = f"{self.key} {week_label(self.week)}: {self.change}"
        if self.before and self.after:
            text += f" {self.before} → {self.after}"
        elif self.after:
            text += f" {self.after}"
        elif self.before:
            text += f" (var {self.before})"
        if self.reason:
            text += f" — {self.reason}"
        return text


def _when(p: Placement) -> str:
    s, e = p.start.astimezone(TZ), p.end.astimezone(TZ)
    return f"{WEEKDAY_NAMES[s.weekday()]} {s:%H:%M}–{e:%H:%M}"


def schedule_diff(before: Solution, after: Solution) -> list[ScheduleChange]:
    """Per item and week, the placements that differ. Fixed commitments are inputs, not
    results, and are left out."""

    def index(sol: Solution) -> dict[tuple[str, dt.date], list[Placement]]:
        out: dict[tuple[str, dt.date], list[Placement]] = defaultdict(list)
        for p in sol.placements:
            if p.kind != "commitment":
                out[(p.key, p.week)].append(p)
        for v in out.values():
            v.sort(key=lambda p: p.start)
        return out

    old, new = index(before), index(after)
    reasons = {(u.key, u.week): u.reason for u in after.unplaced}
    changes: list[ScheduleChange] = []
    for key, week in sorted(set(old) | set(new), key=lambda k: (k[1], k[0])):
        a = [_when(p) for p in old.get((key, week), [])]
        b = [_when(p) for p in new.get((key, week), [])]
        if a == b:
            continue
        gone = [x for x in a if x not in b]
        came = [x for x in b if x not in a]
        for x, y in zip(gone, came, strict=False):
            changes.append(ScheduleChange(key, week, "flyttet", x, y))
        for x in gone[len(came) :]:
            changes.append(
                ScheduleChange(
                    key, week, "ikke længere placeret", x, None, reasons.get((key, week))
                )
            )
        for y in came[len(gone) :]:
            changes.append(ScheduleChange(key, week, "placeret", None, y))
    return changes
