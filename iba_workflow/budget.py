"""The mail budget: how many mails each person receives, per ISO week and kind, when a
mix of interventions runs in simulated time through the real dispatcher and a real SMTP
server (aiosmtpd, in this process).

A :class:`Scenario` is a list of intakes (definition, participants, start, cohort). Each
intake is a :class:`~iba_workflow.simulate.Simulation` on one shared store and clock. The
clock visits every working day (and every day something happens): at 08:00 the parts mark
what is due and a dispatcher tick (``dispatch.run_tick``) sends; then the day's steps are
completed, and a second tick at 15:00 sends what that changed. What
arrives at the SMTP server is counted: a mail is a mail, whatever produced it.

Named scenarios: ``hop`` (the issue's count: one HOP group of 15 from 2027-03-01),
``caseload`` (an IBA's realistic load, run at the same time: 15 HOP in three intakes,
6 Fagmentor in two, a Sunde kvinder cohort of 4 and a De internationale cohort of 5) and
``caseload-invitations`` (the same, the IBA taking meeting invitations by mail).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import email.utils
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext
from iba_workflow.engine.context import CalendarProvider
from iba_workflow.settings import Settings
from iba_workflow.simulate import MAX_EVENT_DAYS, Simulation, SimulationScript, day_start
from iba_workflow.store.tables import OutboxRow, StaffRow

OUTBOX_MESSAGE_ID = "<outbox-"
AFTERNOON = dt.timedelta(hours=7)  # the second tick of a day: 15:00


@dataclass(frozen=True)
class Intake:
    definition: str
    participants: int
    start: dt.date
    cohort: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    intakes: tuple[Intake, ...]
    #: (role, kind) that the staff member holding the role wants by mail at once
    immediate: tuple[tuple[str, str], ...] = ()


CASELOAD_INTAKES = (
    Intake("hop", 5, dt.date(2027, 2, 15)),
    Intake("hop", 5, dt.date(2027, 3, 1)),
    Intake("hop", 5, dt.date(2027, 3, 15)),
    Intake("fagmentor", 3, dt.date(2027, 2, 22)),
    Intake("fagmentor", 3, dt.date(2027, 3, 8)),
    Intake("sunde_kvinder", 4, dt.date(2027, 2, 1), "hold_2027_foraar"),
    Intake("de_internationale", 5, dt.date(2027, 2, 1), "hold_2027"),
)
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "hop",
            "one HOP group of 15, all starting 2027-03-01 (the issue's count)",
            (Intake("hop", 15, dt.date(2027, 3, 1)),),
        ),
        Scenario(
            "caseload",
            "an IBA's caseload at the same time: HOP 15 (5+5+5 from 2027-02-15, 03-01, "
            "03-15), Fagmentor 6 (3+3 from 2027-02-22, 03-08), Sunde kvinder 4 and De "
            "internationale 5 (cohorts starting 2027-02-01)",
            CASELOAD_INTAKES,
        ),
        Scenario(
            "caseload-invitations",
            "the caseload, with the IBA taking meeting invitations (.ics) by mail at once",
            CASELOAD_INTAKES,
            immediate=(("iba", "meeting_invitation"),),
        ),
    )
}


@dataclass(frozen=True)
class ReceivedMail:
    recipient: str
    sent_at: dt.datetime  # the Date header (the simulated clock)
    outbox_id: int | None
    raw: bytes


@dataclass
class MailSink:
    """An aiosmtpd handler that keeps every mail it receives."""

    mails: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        sent_at = email.utils.parsedate_to_datetime(str(msg["Date"]))
        mid = str(msg["Message-ID"] or "")
        outbox_id = (
            int(mid[len(OUTBOX_MESSAGE_ID) :].split("@")[0])
            if mid.startswith(OUTBOX_MESSAGE_ID)
            else None
        )
        for rcpt in envelope.rcpt_tos:
            self.mails.append(ReceivedMail(rcpt, sent_at, outbox_id, envelope.original_content))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class MailCount:
    person: str  # the staff member's e-mail address (fictional in a simulation)
    roles: str
    week: str  # ISO week, "2027-W10"
    kind: str
    count: int


@dataclass
class Budget:
    scenario: str
    counts: list[MailCount]
    mails: list[ReceivedMail]

    def people(self) -> list[str]:
        return sorted({c.person for c in self.counts})

    def total(self, person: str | None = None, kind: str | None = None) -> int:
        return sum(
            c.count
            for c in self.counts
            if (person is None or c.person == person) and (kind is None or c.kind == kind)
        )

    def per_week(self, person: str, *, exclude: tuple[str, ...] = ()) -> dict[str, int]:
        weeks: Counter[str] = Counter()
        for c in self.counts:
            if c.person == person and c.kind not in exclude:
                weeks[c.week] += c.count
        return dict(sorted(weeks.items()))

    def per_day(self, person: str, kind: str) -> dict[dt.date, int]:
        days: Counter[dt.date] = Counter()
        for m, k in zip(self.mails, self.kinds, strict=True):
            if m.recipient == person and k == kind:
                days[m.sent_at.astimezone(COPENHAGEN).date()] += 1
        return dict(sorted(days.items()))

    kinds: list[str] = field(default_factory=list)  # parallel to ``mails``

    def lines(self) -> list[dict[str, Any]]:
        """One JSON-able dict per (person, week, kind)."""
        return [
            {
                "scenario": self.scenario,
                "person": c.person,
                "roles": c.roles,
                "week": c.week,
                "kind": c.kind,
                "mails": c.count,
            }
            for c in self.counts
        ]


def count_mails(session: Session, scenario: str, mails: list[ReceivedMail]) -> Budget:
    """Group received mails by person, ISO week and kind (the outbox row's kind; a digest
    row says which: ``digest`` for the morning digest, ``samlet`` for a bundle)."""
    roles = {s.email: "/".join(s.roles) for s in session.exec(select(StaffRow))}
    rows = {r.id: r for r in session.exec(select(OutboxRow))}
    grouped: Counter[tuple[str, str, str]] = Counter()
    kinds: list[str] = []
    for m in mails:
        row = rows.get(m.outbox_id) if m.outbox_id is not None else None
        kind = mail_kind(row)
        kinds.append(kind)
        year, week, _ = m.sent_at.astimezone(COPENHAGEN).isocalendar()
        grouped[(m.recipient, f"{year}-W{week:02d}", kind)] += 1
    counts = [
        MailCount(person, roles.get(person, "?"), week, kind, n)
        for (person, week, kind), n in sorted(grouped.items())
    ]
    return Budget(scenario, counts, mails, kinds)


def mail_kind(row: OutboxRow | None) -> str:
    if row is None:
        return "?"
    if row.kind == "digest":
        return str(row.payload.get("mode") or "digest")
    return row.kind


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_scenario(
    scenario: Scenario,
    *,
    open_session: Callable[[], Session],
    calendars: CalendarProvider,
    definition: Callable[[str], Definition],
    settings: Settings,
    on_tick: Callable[[Session, FixedClock], None] | None = None,
) -> Budget:
    """Run ``scenario`` through the dispatcher into an aiosmtpd server on a free port;
    ``settings`` give everything but the SMTP host and port."""
    from aiosmtpd.controller import Controller

    from iba_workflow.dispatch import run_tick

    sink = MailSink()
    port = free_port()
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock = FixedClock(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        ctx = EngineContext(clock=clock, calendars=calendars, actor="dispatcher")

        def tick(session: Session) -> None:
            _choose(session, scenario, clock)
            session.commit()
            asyncio.run(run_tick(open_session, ctx, settings, owner="budget"))
            if on_tick is not None:
                on_tick(session, clock)

        sims = [
            Simulation(
                open_session,
                definition(intake.definition),
                calendars,
                intake.start,
                SimulationScript(cohort=intake.cohort),
                intake.participants,
                prefix=f"{intake.definition}-{n}",
                shared_clock=clock,
                deliver=tick,
                settings=settings,
            )
            for n, intake in enumerate(scenario.intakes, start=1)
        ]
        _drive(sims, clock, calendars(sims[0].definition.municipality), open_session, tick)
    finally:
        controller.stop()
    with open_session() as session:
        return count_mails(session, scenario.name, sink.mails)


def _choose(session: Session, scenario: Scenario, clock: FixedClock) -> None:
    """The scenario's preferences, for whoever holds the role by now."""
    from iba_workflow.dispatch.preferences import set_preference

    for role, kind in scenario.immediate:
        for staff in session.exec(select(StaffRow)):
            if role in staff.roles:
                set_preference(
                    session, staff_id=staff.id or 0, kind=kind, mode="immediate", now=clock.now()
                )


def _drive(
    sims: list[Simulation],
    clock: FixedClock,
    calendar: Any,
    open_session: Callable[[], Session],
    tick: Callable[[Session], None],
) -> None:
    """Every working day and every event day: each started part's pauses and exits, a
    dispatcher tick at 08:00 (what became due, and the morning digest), the day's
    completions, and a tick at 15:00. After the last event, two more working days (the
    last digests)."""
    today = min(s.visit_day for s in sims)
    started: list[Simulation] = []
    tail = 0
    with open_session() as session:
        for _ in range(MAX_EVENT_DAYS):
            clock.set(day_start(today))
            for sim in sims:
                if sim not in started and sim.visit_day <= today:
                    sim.setup(session)
                    started.append(sim)
            for sim in started:
                sim.begin_day(session, today, mark_due=False)
            tick(session)  # 08:00: what became due, and the morning digest
            for sim in started:
                sim.complete_day(session, today)
            clock.set(day_start(today) + AFTERNOON)
            tick(session)  # what the day's work changed
            events = [e for s in started if (e := s.next_event(session, today)) is not None]
            events += [s.visit_day for s in sims if s not in started]
            if not events:
                tail += 1
                if tail > 2:
                    return
            following = calendar.add_working_days(today, 1)
            today = min([following, *[e for e in events if e > today]])
