"""``iba demo --fast``: a whole lifecycle of each of the five interventions in simulated
time, with the same engine on a real (temporary SQLite) store — :mod:`iba_workflow.simulate`
— and no servers. The start date is fixed, so the timeline is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iba_workflow.definition import Definition
from iba_workflow.engine.context import CalendarProvider
from iba_workflow.simulate import Simulation, SimulationScript
from iba_workflow.timeline import TimelineEntry, timeline

FAST_START = dt.date(2027, 1, 4)
# (definition, participants): a cohort of three, two rolling intakes of two, a cohort of
# two, one participant of the health offer.
FAST_PLAN = (
    ("sunde_kvinder", 3),
    ("hop", 2),
    ("fagmentor", 2),
    ("de_internationale", 2),
    ("motion_sygemeldte", 1),
)
PREFIX = {
    "sunde_kvinder": "DEMO-SK",
    "hop": "DEMO-HOP",
    "fagmentor": "DEMO-FM",
    "de_internationale": "DEMO-DI",
    "motion_sygemeldte": "DEMO-MS",
}


@dataclass
class Lifecycle:
    definition_id: str
    name: str
    participants: int
    entries: list[TimelineEntry] = field(default_factory=list)

    @property
    def first_day(self) -> dt.date:
        return min(e.day for e in self.entries)

    @property
    def last_day(self) -> dt.date:
        return max(e.day for e in self.entries)

    def count(self, prefix: str) -> int:
        return sum(1 for e in self.entries if e.what.startswith(prefix))


def play_lifecycles(
    definitions: Mapping[str, Definition],
    calendars: CalendarProvider,
    *,
    start: dt.date = FAST_START,
    on_done: Callable[[Lifecycle], None] | None = None,
) -> list[Lifecycle]:
    """Simulate each intervention of ``FAST_PLAN`` to its end, each on its own store."""
    from iba_workflow.privacy.crypto import IdentityKeyring, configure_keyring, new_key

    # The stores are thrown away at the end: so is the key that seals their identities
    # (no key file is written into the working directory).
    configure_keyring(IdentityKeyring.parse(f"demo={new_key()}"))
    try:
        return _play(definitions, calendars, start, on_done)
    finally:
        configure_keyring(None)


def _play(
    definitions: Mapping[str, Definition],
    calendars: CalendarProvider,
    start: dt.date,
    on_done: Callable[[Lifecycle], None] | None,
) -> list[Lifecycle]:
    from iba_workflow.store import make_engine, session_factory, upgrade

    played = []
    for definition_id, participants in FAST_PLAN:
        d = definitions[definition_id]
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
            try:
                upgrade(engine)
                open_session = session_factory(engine)
                Simulation(
                    open_session,
                    d,
                    calendars,
                    start,
                    SimulationScript(),
                    participants,
                    prefix=PREFIX[definition_id],
                ).run()
                with open_session() as session:
                    entries = timeline(session)
            finally:
                engine.dispose()
        life = Lifecycle(definition_id, d.name, participants, entries)
        played.append(life)
        if on_done is not None:
            on_done(life)
    return played


@dataclass(frozen=True)
class Line:
    day: dt.date
    text: str
    quiet: str  # what happened since the last line: recurring sessions, mails


def condense(entries: list[TimelineEntry]) -> list[Line]:
    """One line per day on which something other than a recurring session or a mail
    happened; the same event of several participants once, with ``×n``; the sessions
    and mails of the days in between counted on the next line."""
    days: dict[dt.date, list[TimelineEntry]] = {}
    for e in entries:
        days.setdefault(e.day, []).append(e)
    lines: list[Line] = []
    quiet_sessions = quiet_mails = 0
    for day, happened in days.items():
        events: dict[str, int] = {}
        sessions = mails = 0
        for e in happened:
            what = " ".join(e.what.split())
            if what.startswith("mail "):
                mails += 1
            elif what.startswith("completed") and "#" in what:
                sessions += 1
            else:
                events[what] = events.get(what, 0) + 1
        if not events:
            quiet_sessions, quiet_mails = quiet_sessions + sessions, quiet_mails + mails
            continue
        parts = [what + (f" ×{n}" if n > 1 else "") for what, n in events.items()]
        parts += [_counted(sessions, "session"), _counted(mails, "mail")]
        quiet = [_counted(quiet_sessions, "session"), _counted(quiet_mails, "mail")]
        lines.append(Line(day, "; ".join(p for p in parts if p), ", ".join(q for q in quiet if q)))
        quiet_sessions = quiet_mails = 0
    return lines


def _counted(n: int, what: str) -> str:
    return "" if not n else f"{n} {what}{'s' if n > 1 else ''}"
