"""The engine's impact lines, in words a coordinator reads before she confirms; and what
completing a step before its day would change (the warning on Min uge and on the mail
link's task page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from iba_workflow.engine import EngineContext, complete_step
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


def is_early(step: Any, ctx: EngineContext, posted: Any) -> bool:
    """A step planned for a later day, not yet confirmed (``tidligt=ja``) to be done now."""
    return bool(step.due_date > ctx.today() and posted.get("tidligt") != "ja")


def early_impact(
    session_factory: Callable[[], Session],
    ctx: EngineContext,
    step_id: int,
    outcome: str | None,
    data: dict[str, Any],
) -> list[ImpactText]:
    """What completing the step now would change: the engine runs as it would, in a
    transaction of its own that is rolled back, so nothing is kept."""
    with session_factory() as session:
        try:
            result = complete_step(
                session, ctx, step_instance_id=step_id, outcome=outcome, data=data
            )
            return impact_text(result.changes)
        finally:
            session.rollback()


def confirm_pairs(posted: Any) -> list[tuple[str, str]]:
    """The posted form, to post again with the confirmation (not the CSRF token)."""
    items = posted.multi_items() if hasattr(posted, "multi_items") else posted.items()
    return [(str(k), str(v)) for k, v in items if k not in ("csrf", "tidligt")]
