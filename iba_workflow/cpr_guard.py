"""CPR numbers stay out of references and free text: one validator for every door.

A CPR number is personal data that belongs in ``citizen_identity`` only (entered on
purpose, read through the audited accessor). Typed as a citizen reference it would be
shown on task pages and sent around in mails; typed into a note it would be copied into
reports. So anything CPR-shaped is refused — ten digits in a row, or six and four with a
dash or a space between them, anywhere in the value (``B-0101901234`` too) — with a hint.

Used by the API model (``web.visitations.VisitationIn``), the CLI and the engine
(``register_citizen``, ``record_visitation``, ``complete_step``). Part of the core: it
imports nothing but the error tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from iba_workflow.errors import InvalidInput

CPR_SHAPED = re.compile(r"\d{6}[-\s]?\d{4}")

Where = Literal["reference", "text"]


def looks_like_cpr(value: str) -> bool:
    """True if ``value`` holds something CPR-shaped anywhere in it."""
    return CPR_SHAPED.search(value) is not None


def refuse_cpr(value: str, *, where: Where, field: str) -> str:
    """Return ``value``, or raise :class:`InvalidInput` if it holds a CPR-shaped number.

    ``where``: ``reference`` (a citizen reference) or ``text`` (a reason, a note);
    ``field`` names the input for the message (``citizen_ref``, ``reject_reason``, …)."""
    if not looks_like_cpr(value):
        return value
    if where == "reference":
        raise InvalidInput(
            f"{field} looks like a CPR number / {field} ligner et CPR-nummer",
            hint="use the opaque reference the job centre gives the citizen (e.g. B-0042); "
            "a CPR number goes only into the citizen's identity record / brug borgerens "
            "interne reference, aldrig CPR-nummeret",
            field=field,
        )
    raise InvalidInput(
        f"{field} contains a number that looks like a CPR number / {field} indeholder et "
        "tal, der ligner et CPR-nummer",
        hint="write the text without the number; refer to the citizen by reference / "
        "skriv teksten uden nummeret",
        field=field,
    )


def refuse_cpr_in_values(values: Mapping[str, Any], *, field: str) -> None:
    """Every text value of ``values`` (posted form data) through :func:`refuse_cpr`."""
    for key, value in values.items():
        if isinstance(value, str):
            refuse_cpr(value, where="text", field=f"{field}.{key}")
