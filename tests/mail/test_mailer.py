"""The SMTP mailer against a real aiosmtpd: one connection carries a whole session, a
refused message does not spoil the next, a dropped connection is opened again."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from iba_workflow.errors import PermanentMailError, TransientMailError
from iba_workflow.mail.mailer import MemoryMailer, SmtpMailer
from iba_workflow.mail.smtp import SmtpConfig
from iba_workflow.orchestration.server import free_port


@dataclass
class Received:
    data: bytes


@dataclass
class CountingHandler:
    """Keeps what it accepts, counts SMTP connections (one EHLO each), refuses RCPT of
    the ``refuse`` addresses with the given reply."""

    received: list[Received] = field(default_factory=list)
    helos: int = 0
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.original_content))
        return "250 Message accepted for delivery"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.helos += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def message(n: int, to: str = "iba@hedensted.dk") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "noreply@example.org"
    msg["To"] = to
    msg["Subject"] = f"Opgave {n}"
    msg["Message-ID"] = f"<outbox-{n}@iba-workflow.local>"
    msg.set_content("Der er en opgave til dig.")
    return msg


@pytest.fixture
def counting_smtp() -> Any:
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


async def test_one_connection_for_a_session_of_many_messages(counting_smtp: Any) -> None:
    controller, handler = counting_smtp
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=controller.port))
    async with mailer.session() as outgoing:
        for n in range(25):
            await outgoing.send(message(n))
    assert len(handler.received) == 25 and handler.helos == 1
    async with mailer.session() as outgoing:  # a new session: a new connection
        await outgoing.send(message(99))
    assert handler.helos == 2


async def test_a_refused_message_does_not_spoil_the_next(counting_smtp: Any) -> None:
    controller, handler = counting_smtp
    handler.refuse = {"busy@hedensted.dk": "451 4.3.0 later", "gone@hedensted.dk": "550 no"}
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=controller.port))
    async with mailer.session() as outgoing:
        await outgoing.send(message(1))
        with pytest.raises(TransientMailError):
            await outgoing.send(message(2, "busy@hedensted.dk"))
        with pytest.raises(PermanentMailError):
            await outgoing.send(message(3, "gone@hedensted.dk"))
        await outgoing.send(message(4))
    got = [r.data for r in handler.received]
    assert len(got) == 2 and b"outbox-1@" in got[0] and b"outbox-4@" in got[1]


async def test_a_server_that_went_away_is_transient_and_the_next_send_reconnects() -> None:
    handler = CountingHandler()
    port = free_port()
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, timeout_seconds=3))
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        async with mailer.session() as outgoing:
            await outgoing.send(message(1))
            controller.stop()  # the server goes away mid-session
            with pytest.raises(TransientMailError):
                await outgoing.send(message(2))
            controller = Controller(handler, hostname="127.0.0.1", port=port)
            controller.start()  # and comes back
            await outgoing.send(message(3))
    finally:
        controller.stop()
    assert len(handler.received) == 2 and handler.helos == 2


async def test_the_memory_mailer_keeps_and_refuses_as_told() -> None:
    mailer = MemoryMailer(
        refuse=lambda m, to: TransientMailError("451") if "busy" in to[0] else None
    )
    async with mailer.session() as outgoing:
        await outgoing.send(message(1))
        with pytest.raises(TransientMailError):
            await outgoing.send(message(2, "busy@hedensted.dk"))
    assert [m.recipients for m in mailer.sent] == [("iba@hedensted.dk",)]
    assert mailer.sessions == 1


@dataclass
class EnvelopeKeeper:
    """Keeps each message's envelope and bytes as they arrived."""

    got: list[tuple[str, tuple[str, ...], tuple[str, ...], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append(
            (
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                tuple(envelope.mail_options),
                envelope.original_content,
            )
        )
        return "250 OK"


def built(n: int, *, calendar: bool, policy: Any) -> EmailMessage:
    """A step mail as the dispatcher builds it (non-ASCII folded subject, text, HTML and
    optionally an .ics), with ``policy`` in place of the module's."""
    import datetime as dt

    from iba_workflow.clock import COPENHAGEN, FixedClock
    from iba_workflow.mail import message as message_module
    from iba_workflow.mail.invitations import CalendarAttachment
    from iba_workflow.mail.render import RenderedMail

    rendered = RenderedMail(
        subject=f"Progressionsmåling: måling ved start · HOP – Helhedsorienteret praktik "
        f"(rengøring/køkken) · F-{n:05d} · ons. 17. mar.",
        text="Der skal laves en måling i forløb F-00001.\n" * 3 + "Linket: http://x/t/abc\n",
        html="<p>Der skal laves en måling i forløb F-00001.</p>\n" + "<p>" + "æ" * 120 + "</p>",
    )
    ics = CalendarAttachment("REQUEST", b"BEGIN:VCALENDAR\r\nSUMMARY:HOP \xc2\xb7 M\xc3\xb8de\r\n")
    saved = message_module.POLICY
    message_module.POLICY = policy
    try:
        return message_module.build_message(
            outbox_id=n,
            rendered=rendered,
            sender="iba-workflow <noreply@example.org>",
            to=["iba@hedensted.dk"],
            clock=FixedClock(dt.datetime(2027, 3, 18, 8, tzinfo=COPENHAGEN)),
            calendar=ics if calendar else None,
        )
    finally:
        message_module.POLICY = saved


async def test_the_session_sends_the_bytes_and_envelope_aiosmtplib_would() -> None:
    """The mailer serialises with the memoised policy and calls ``sendmail`` itself: what
    arrives (bytes, envelope, BODY=8BITMIME) is what ``send_message`` of a message built
    with ``email.policy.default`` sends, also the second time a header is seen."""
    import email.policy
    import random

    import aiosmtplib

    from iba_workflow.mail.message import POLICY

    keeper = EnvelopeKeeper()
    controller = Controller(keeper, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        cases = [(n, cal) for n in (1, 2, 1) for cal in (False, True)]
        mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=controller.port))
        async with mailer.session() as outgoing:
            for n, cal in cases:
                random.seed(n)  # the same MIME boundaries on both sides
                await outgoing.send(built(n, calendar=cal, policy=POLICY))
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=controller.port) as client:
            for n, cal in cases:
                random.seed(n)
                await client.send_message(built(n, calendar=cal, policy=email.policy.default))
    finally:
        controller.stop()
    ours, theirs = keeper.got[: len(cases)], keeper.got[len(cases) :]
    assert ours == theirs
    assert "BODY=8BITMIME" in ours[0][2] and b"Subject: =?utf-8?q?" in ours[0][3]
