"""A small world for dispatcher and web tests: a migrated store, a fixed clock, staff for
the roles a definition needs, a citizen with canary identity data, settings pointing at
an SMTP port, and a real aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlmodel import Session, select

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import Definition, load_definition
from iba_workflow.engine import EngineContext, add_staff, calendars_from, register_citizen
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store import tables as t
from iba_workflow.store.work import unit_of_work

CPR = "010203-4567"
NAME = "Fatima Kanarie"
CANARIES = (CPR, CPR.replace("-", ""), NAME, "Kanarie", "fatima.kanarie@example.org", "12345678")
LINK = re.compile(r"https?://[^/\s]+/t/([A-Za-z0-9_-]{43})")


def local(day: dt.date, hour: int = 8, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=COPENHAGEN).astimezone(dt.UTC)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    raw: bytes
    rcpt_tos: list[str]

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body else ""

    @property
    def token(self) -> str | None:
        found = LINK.search(self.text)
        return found.group(1) if found else None

    def ics(self) -> str | None:
        for part in self.message.walk():
            if part.get_content_type() == "application/ics":
                payload = part.get_payload(decode=True)
                return payload.decode() if isinstance(payload, bytes) else None
        return None


@dataclass
class Sink:
    """Records every mail an aiosmtpd server receives."""

    mails: list[Mail] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.mails.append(Mail(envelope.original_content, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sink = Sink()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[Mail]:
        return self.sink.mails

    def wait_for(self, wanted: Callable[[Mail], bool], *, timeout: float = 15) -> Mail:
        """The first mail ``wanted`` accepts, waiting (on a condition, woken by each
        arriving mail) up to ``timeout`` seconds for it to arrive."""
        with self.sink.arrived:
            self.sink.arrived.wait_for(
                lambda: any(wanted(m) for m in self.sink.mails), timeout=timeout
            )
            found = [m for m in self.sink.mails if wanted(m)]
        assert found, f"no such mail arrived within {timeout} s"
        return found[0]


@dataclass
class World:
    store_url: str
    clock: FixedClock
    settings: Settings
    staff: dict[str, int]
    definition: Definition
    citizen_ref: str = "B-0001"

    def __post_init__(self) -> None:
        self.engine = make_engine(self.store_url)
        self.open_session = session_factory(self.engine)

    @property
    def ctx(self) -> EngineContext:
        return EngineContext(clock=self.clock, calendars=calendars_from(paths.calendars_dir()))

    def session(self) -> AbstractContextManager[Session]:
        """The test is the caller: one unit of work, committed when the block ends."""
        return unit_of_work(self.open_session)

    def staff_email(self, role: str) -> str:
        return f"{role}@jobcenter.test"

    def step(self, key: str) -> t.StepInstanceRow:
        with self.session() as s:
            row = s.exec(select(t.StepInstanceRow).where(t.StepInstanceRow.key == key)).first()
            assert row is not None, key
            return row


def definition(name: str) -> Definition:
    path = paths.definitions_dir() / f"{name}.yaml"
    return load_definition(path, known_templates=paths.known_templates())


def make_world(
    store_url: str, tmp_path: Path, *, smtp_port: int, name: str = "hop", day: dt.date
) -> World:
    """Staff for every role of ``name`` (external ones too, so they get mail), and a
    citizen whose identity holds the canaries."""
    d = definition(name)
    clock = FixedClock(local(day))
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=store_url,
        base_url="http://127.0.0.1:8000",
        secret_key=SecretStr("test-secret-" + "x" * 20),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_timeout_seconds=3,
        mail_from="iba-workflow <noreply@jobcenter.test>",
    )
    world = World(store_url, clock, settings, {}, d)
    with world.session() as s:
        for role in d.roles:
            row = add_staff(
                s,
                world.ctx,
                name=f"{role.name.split(' ')[0]} Medarbejder",
                email=world.staff_email(role.id),
                roles=[role.id],
                municipality=d.municipality,
            )
            world.staff[role.id] = row.id or 0
        register_citizen(
            s,
            world.ctx,
            ref=world.citizen_ref,
            municipality=d.municipality,
            name=NAME,
            cpr=CPR,
            email="fatima.kanarie@example.org",
            phone="12345678",
        )
    return world


def answers(d: Definition) -> dict[str, bool]:
    return {c.id: True for c in d.eligibility}


#: Bookkeeping of credentials, not the record: an API call notes the key's last use, a
#: signed-in request its session's.
NOT_THE_RECORD = frozenset({"api_key", "staff_session"})


def snapshot(world: World) -> dict[str, list[str]]:
    """Every row of every table (but :data:`NOT_THE_RECORD`), exactly: to show that
    nothing changed."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    with world.session() as s:
        return {
            table.name: sorted(
                repr(tuple(r)) for r in s.execute(text(f"SELECT * FROM {table.name}")).all()
            )
            for table in SQLModel.metadata.sorted_tables
            if table.name not in NOT_THE_RECORD
        }
