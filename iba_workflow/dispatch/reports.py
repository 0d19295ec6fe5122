"""What a dispatcher tick did, per intervention and in total (for logs and a Prefect
table artifact)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from iba_workflow.engine import DueReport as EngineDueReport

COUNTERS = ("due", "new_tasks", "reminders", "escalations", "sent", "failed", "dead", "skipped")


@dataclass
class InterventionCounts:
    due: int = 0
    new_tasks: int = 0
    reminders: int = 0
    escalations: int = 0
    sent: int = 0
    failed: int = 0  # will be retried
    dead: int = 0  # dead-lettered: no further tries
    skipped: int = 0  # not sent: the step was done before its mail went out

    def add(self, other: InterventionCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _merge(into: dict[str, InterventionCounts], other: dict[str, InterventionCounts]) -> None:
    for key, counts in other.items():
        into.setdefault(key, InterventionCounts()).add(counts)


@dataclass
class DueReport(EngineDueReport):
    """The engine's report, plus its numbers per intervention (definition id)."""

    by_intervention: dict[str, InterventionCounts] = field(default_factory=dict)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    lost_lease: int = 0  # another dispatcher took the row over; it will report it
    by_intervention: dict[str, InterventionCounts] = field(default_factory=dict)

    def count(self, intervention: str, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "lost_lease":
            counts = self.by_intervention.setdefault(intervention, InterventionCounts())
            setattr(counts, outcome, getattr(counts, outcome) + 1)

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "failed", "dead", "skipped", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        _merge(self.by_intervention, other.by_intervention)


@dataclass
class TickReport:
    """One tick: what became due, what was written to the outbox, what was sent."""

    due: DueReport = field(default_factory=DueReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    batches: int = 0
    digests: int = 0  # morning digests and bundles written to the outbox (dispatch.digest)

    @property
    def by_intervention(self) -> dict[str, InterventionCounts]:
        merged: dict[str, InterventionCounts] = {}
        _merge(merged, self.due.by_intervention)
        _merge(merged, self.delivery.by_intervention)
        return dict(sorted(merged.items()))

    @property
    def totals(self) -> InterventionCounts:
        total = InterventionCounts()
        for counts in self.by_intervention.values():
            total.add(counts)
        return total

    def rows(self) -> list[dict[str, int | str]]:
        """A table: one row per intervention and a last row ``I alt`` (for an artifact)."""
        out: list[dict[str, int | str]] = []
        items: Iterable[tuple[str, InterventionCounts]] = self.by_intervention.items()
        for name, counts in [*items, ("I alt", self.totals)]:
            row: dict[str, int | str] = {"intervention": name}
            row.update({c: getattr(counts, c) for c in COUNTERS})
            out.append(row)
        return out

    def summary(self) -> str:
        t = self.totals
        digests = f"; digests and bundles {self.digests}" if self.digests else ""
        return (
            f"due {t.due}, new tasks {t.new_tasks}, reminders {t.reminders}, escalations "
            f"{t.escalations}; sent {t.sent}, failed {t.failed}, dead {t.dead}, "
            f"skipped {t.skipped}{digests}"
        )
