"""Words a coordinator may write instead of the language's own: Danish weekdays, anchors,
kinds and policies. The language keeps one spelling (so files stay comparable and the
schema simple); these tables turn a Danish word into a "did you mean" with the right one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

DANISH: dict[str, str] = {
    # weekdays
    "mandag": "mon",
    "man": "mon",
    "tirsdag": "tue",
    "tir": "tue",
    "onsdag": "wed",
    "ons": "wed",
    "torsdag": "thu",
    "tor": "thu",
    "fredag": "fri",
    "fre": "fri",
    "lørdag": "sat",
    "loerdag": "sat",
    "lør": "sat",
    "søndag": "sun",
    "soendag": "sun",
    "søn": "sun",
    # anchors
    "slut": "end",
    "slutning": "end",
    "afslutning": "end",
    "midtvejs": "midway",
    "midt": "midway",
    "halvvejs": "midway",
    "opstart": "start",
    "begyndelse": "start",
    "visitering": "visitation",
    "visitationssamtale": "visitation",
    # kinds
    "møde": "meeting",
    "moede": "meeting",
    "opgave": "task",
    "undervisning": "session",
    "træning": "session",
    "traening": "session",
    "måling": "measurement",
    "maaling": "measurement",
    "prøve": "test",
    "proeve": "test",
    "evaluering": "evaluation",
    # shift policies
    "næste": "next",
    "naeste": "next",
    "forrige": "previous",
    "nærmeste": "nearest",
    "naermeste": "nearest",
    "spring_over": "skip",
    "spring over": "skip",
    "drop": "skip",
}
ANCHOR_PREFIXES_DA = {"trin": "step", "afsluttet": "completion", "afslutning": "completion"}


def suggest(word: object, options: Iterable[str]) -> str | None:
    """The option ``word`` most likely means: its English form if it is Danish, else the
    closest spelling. None if nothing is close."""
    opts = [o for o in options if o]
    text = str(word).strip().lower()
    if text in DANISH and DANISH[text] in opts:
        return DANISH[text]
    close = difflib.get_close_matches(text, opts, n=1, cutoff=0.6)
    return close[0] if close else None


def suggest_anchor(word: object) -> str | None:
    """'slut' → 'end', 'trin.opstart' → 'step.opstart', 'ende' → 'end'."""
    text = str(word).strip().lower()
    if "." in text:
        head, _, ref = text.partition(".")
        english = ANCHOR_PREFIXES_DA.get(head) or suggest(head, ("step", "completion"))
        return f"{english}.{ref}" if english and ref else None
    return suggest(text, ("visitation", "start", "midway", "end"))
