"""Fixtures for the mail, links and mailbox tests: plans of every definition, a renderer,
and a real aiosmtpd server on a free port."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.clock import FixedClock
from iba_workflow.definition import Definition, load_definition
from iba_workflow.mail import MailRenderer
from iba_workflow.planning import Plan, plan_enrollment

DEFINITION_FILES = iter_definition_files(paths.definitions_dir())
START = dt.date(2027, 3, 1)


def plan_for(d: Definition) -> Plan:
    """A rolling definition from START; a cohort definition for its first cohort."""
    calendar = calendar_for(d.municipality, paths.calendars_dir())
    if d.intake.kind == "cohort" and d.intake.cohorts:
        return plan_enrollment(d, calendar=calendar, cohort=d.intake.cohorts[0].id)
    return plan_enrollment(d, calendar=calendar, start=START)


@pytest.fixture(params=DEFINITION_FILES, ids=[p.stem for p in DEFINITION_FILES])
def definition_and_plan(request: pytest.FixtureRequest) -> tuple[Definition, Plan]:
    d = load_definition(request.param, known_templates=paths.known_templates())
    return d, plan_for(d)


@pytest.fixture(scope="session")
def renderer() -> MailRenderer:
    return MailRenderer(paths.templates_dir())


@pytest.fixture(scope="session")
def templates_dir() -> Path:
    return paths.templates_dir()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2027, 2, 22, 7, 30, tzinfo=dt.UTC))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class RecordingHandler:
    """Accepts everything, or answers RCPT with ``rcpt_reply`` when set."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, RecordingHandler]]:
    """A real aiosmtpd server (its own thread) on a free port."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound and released just now)."""
    return free_port()


@pytest.fixture(scope="session")
def plan_of() -> Any:
    """``plan_of(definition)``: the plan the tests use for a definition."""
    return plan_for
