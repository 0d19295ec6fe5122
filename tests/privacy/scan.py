"""Scan every column of every table for planted strings (the retention tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel


def find_in_store(session: Any, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value that contains a needle."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        result = session.execute(text(f'SELECT * FROM "{table.name}"'))
        columns = list(result.keys())
        for row in result.all():
            for column, value in zip(columns, row, strict=True):
                shown = str(value)
                found += [(table.name, column, n) for n in needles if n in shown]
    return found
