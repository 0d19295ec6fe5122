"""The engine's impact lines, in words a coordinator reads before she confirms."""

from __future__ import annotations

from dataclasses import dataclass

from iba_workflow.engine.target import ImpactLine
from iba_workflow.mail.render import clock_time, long_date

CHANGE_WORDS = {"added": "Tilføjes", "moved": "Flyttes", "cancelled": "Aflyses"}


@dataclass(frozen=True)
class ImpactText:
    change: str  # Tilføjes / Flyttes / Aflyses
    name: str
    text: str


def impact_text(lines: list[ImpactLine]) -> list[ImpactText]:
    out: list[ImpactText] = []
    for line in sorted(lines, key=lambda x: (x.new_date or x.old_date or _far(), x.key)):
        word = CHANGE_WORDS.get(line.change, line.change)
        if line.change == "moved":
            old, new = _when(line.old_date, line.old_time), _when(line.new_date, line.new_time)
            text = f"fra {old} til {new}"
        elif line.change == "added":
            text = f"den {_when(line.new_date, line.new_time)}"
        else:
            text = f"var planlagt {_when(line.old_date, line.old_time)}"
        out.append(ImpactText(word, line.name, text))
    return out


def _when(day: object, time: object) -> str:
    import datetime as dt

    if not isinstance(day, dt.date):
        return "—"
    at = clock_time(time) if isinstance(time, dt.time) else ""
    return long_date(day) + (f" kl. {at}" if at else "")


def _far() -> object:
    import datetime as dt

    return dt.date.max
