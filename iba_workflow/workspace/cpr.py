"""A CPR number as typed at a visitation: its shape (``cpr_guard``'s pattern, whole) and
a birth date that exists and is plausible (century from the 7th digit, 15–110 years)."""

from __future__ import annotations

import datetime as dt
import re

from iba_workflow.errors import InvalidInput

WHOLE_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})[-\s]?(\d{4})$")
MIN_AGE, MAX_AGE = 15, 110


def _century(yy: int, seventh: int) -> int:
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def check_cpr(value: str, *, today: dt.date) -> str:
    """``DDMMÅÅ-XXXX``, or :class:`InvalidInput` with a Danish sentence and a fix."""
    found = WHOLE_CPR.match(value.strip())
    if found is None:
        raise InvalidInput(
            "CPR-nummeret skal have 10 cifre", hint="skriv det som DDMMÅÅ-XXXX, fx 010190-1234"
        )
    dd, mm, yy, serial = found.groups()
    year = _century(int(yy), int(serial[0])) + int(yy)
    try:
        born = dt.date(year, int(mm), int(dd))
    except ValueError:
        raise InvalidInput(
            "CPR-nummerets første seks cifre er ikke en dato",
            hint="tjek dag og måned (DDMMÅÅ)",
        ) from None
    age = (today - born).days // 365
    if not MIN_AGE <= age <= MAX_AGE:
        raise InvalidInput(
            f"CPR-nummeret giver en fødselsdato ({born.isoformat()}) der ikke passer til en borger"
            f" i beskæftigelsesindsatsen ({MIN_AGE}–{MAX_AGE} år)",
            hint="tjek tallene",
        )
    return f"{dd}{mm}{yy}-{serial}"
