"""Small numbers, and the numbers they can be worked out from.

Primary: a count above zero and under the threshold is shown as ``<3`` (and so is a share
or a mean behind that few cases). Secondary: where a sum (a row that adds up, or a column
with an "I alt" row) has exactly one hidden cell, that cell could be worked out by one
subtraction, so one more part is hidden as ``..`` — the smallest one above zero, else the
total — until no sum has exactly one hidden cell. A share that would give a hidden count
back is hidden with it.

Limits: within one table (the tables of one report are not compared), and against one
subtraction only: reasoning over several sums at once with the known bounds of ``<3``
(1 or 2) can still narrow a hidden cell. A full cell-suppression solver (as statistical
offices use) is not part of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Coord = tuple[int, int]
Relation = tuple[Coord, list[Coord]]  # a total and the parts that add up to it
SECONDARY = ".."


class _Cell(Protocol):
    @property
    def value(self) -> int | float | str | None: ...

    @property
    def base(self) -> int | None: ...


def column_sums(rows: int, columns: list[int], parts: list[int] | None = None) -> list[Relation]:
    """The last row ("I alt") is the sum of ``parts`` (default: every other row)."""
    above = parts if parts is not None else list(range(rows - 1))
    return [((rows - 1, c), [(r, c) for r in above]) for c in columns]


def leaks(rows: Sequence[Sequence[object]], relations: list[Relation]) -> list[Relation]:
    """Sums in which exactly one cell is hidden: it could be worked out by subtraction."""
    hidden = {
        (r, c)
        for r, row in enumerate(rows)
        for c, v in enumerate(row)
        if isinstance(v, str) and (v.startswith("<") or v == SECONDARY)
    }
    return [(t, parts) for t, parts in relations if sum(p in hidden for p in [t, *parts]) == 1]


def protect(
    raw: Sequence[Sequence[_Cell]],
    threshold: int,
    relations: list[Relation],
    links: dict[int, list[int]] | None = None,
) -> list[list[int | float | str | None]]:
    """The final cells: values, ``<threshold`` (primary) and ``..`` (secondary)."""
    primary = {
        (r, c)
        for r, row in enumerate(raw)
        for c, cell in enumerate(row)
        if cell.base is not None and 0 < cell.base < threshold
    }
    hidden, secondary = set(primary), set()

    def amount(coord: Coord) -> float:
        value = raw[coord[0]][coord[1]].value
        return float(value) if isinstance(value, int | float) else 0.0

    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            if sum(p in hidden for p in [total, *parts]) != 1:
                continue  # nothing hidden, or two unknowns in one sum
            shown = [p for p in parts if p not in hidden and amount(p) > 0]
            if not shown and total in hidden:
                continue  # every part is shown as 0 or hidden: the total is 0 anyway
            pick = min(shown, key=lambda p: (amount(p), p)) if shown else total
            hidden.add(pick)
            secondary.add(pick)
            changed = True
    for r, c in list(hidden):
        for d in (links or {}).get(c, []):
            if (r, d) not in hidden:
                hidden.add((r, d))
                secondary.add((r, d))
    out: list[list[int | float | str | None]] = []
    for r, row in enumerate(raw):
        line: list[int | float | str | None] = []
        for c, cell in enumerate(row):
            if (r, c) in primary:
                line.append(f"<{threshold}")
            elif (r, c) in secondary:
                line.append(SECONDARY)
            else:
                line.append(cell.value)
        out.append(line)
    return out
