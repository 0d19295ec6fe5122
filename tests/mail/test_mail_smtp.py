"""Sending over a real aiosmtpd server, and classifying failures for the dispatcher."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy

import aiosmtplib
import pytest
from pydantic import SecretStr

from iba_workflow.clock import FixedClock
from iba_workflow.errors import PermanentMailError, TransientMailError
from iba_workflow.mail import MailRenderer, StepMail, StepRef
from iba_workflow.mail.invitations import Invitation, request_attachment
from iba_workflow.mail.message import build_message, message_id
from iba_workflow.mail.smtp import SmtpConfig, classify_error, send_message
from iba_workflow.settings import Settings

STEP = StepRef(
    key="opstartsmoede",
    name="Opstartsmøde",
    kind="meeting",
    date=dt.date(2027, 2, 25),
    time=dt.time(10),
    duration_minutes=60,
    place="Virksomheden",
    attendee_roles=("Leder af virksomheden",),
)


def meeting_message(renderer: MailRenderer, clock: FixedClock, outbox_id: int = 17):
    mail = StepMail(
        template="moedeindkaldelse",
        intervention="Fagmentor",
        step=STEP,
        enrollment_ref="F-7Q2K",
        recipient_role="Fagmentor",
        link_url="http://127.0.0.1:8000/l/tok",
        calendar_attached=True,
    )
    inv = Invitation(
        step_instance_id=99,
        sequence=0,
        intervention="Fagmentor",
        step=STEP,
        enrollment_ref="F-7Q2K",
        organizer="iba@hedensted.dk",
        attendees=("mentor@hedensted.dk",),
    )
    return build_message(
        outbox_id=outbox_id,
        rendered=renderer.render(mail),
        sender="iba-workflow <noreply@example.org>",
        to=["mentor@hedensted.dk"],
        clock=clock,
        calendar=request_attachment(inv, stamp=clock.now()),
    )


async def test_send_over_real_smtp(smtp_server, renderer, clock) -> None:
    controller, handler = smtp_server
    msg = meeting_message(renderer, clock)
    config = SmtpConfig(host="127.0.0.1", port=controller.port, timeout_seconds=5)
    result = await send_message(msg, config=config)
    assert result.refused == {}
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got.mail_from == "noreply@example.org"
    assert got.rcpt_tos == ["mentor@hedensted.dk"]
    parsed = email.message_from_bytes(got.data, policy=email.policy.default)
    assert parsed["Message-ID"] == "<outbox-17@iba-workflow.local>"
    assert parsed["Subject"].startswith("Mødeindkaldelse: Opstartsmøde · Fagmentor")
    assert parsed["Date"] == "Mon, 22 Feb 2027 08:30:00 +0100"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert "Opstartsmøde" in parsed.get_body(("plain",)).get_content()
    assert "<!DOCTYPE html>" in parsed.get_body(("html",)).get_content()
    calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == 1 and calendars[0].get_param("method") == "REQUEST"
    files = [p.get_filename() for p in parsed.iter_attachments()]
    assert files == ["invitation.ics"]


async def test_a_retry_is_recognisably_the_same_mail(smtp_server, renderer, clock) -> None:
    controller, handler = smtp_server
    config = SmtpConfig(host="127.0.0.1", port=controller.port)
    await send_message(meeting_message(renderer, clock), config=config)
    clock.advance(dt.timedelta(minutes=5))
    await send_message(meeting_message(renderer, clock), config=config)
    ids = {email.message_from_bytes(r.data)["Message-ID"] for r in handler.received}
    assert ids == {message_id(17)}


async def test_smtp_down_is_transient(renderer, clock, unused_port) -> None:
    config = SmtpConfig(host="127.0.0.1", port=unused_port, timeout_seconds=2)
    with pytest.raises(TransientMailError) as info:
        await send_message(meeting_message(renderer, clock), config=config)
    assert info.value.transient


async def test_silent_server_times_out_as_transient(renderer, clock) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = SmtpConfig(host="127.0.0.1", port=port, timeout_seconds=0.3)
        with pytest.raises(TransientMailError, match="timed out"):
            await send_message(meeting_message(renderer, clock), config=config)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("550 5.1.1 No such user", PermanentMailError),
        ("451 4.3.0 Try again later", TransientMailError),
    ],
)
async def test_refused_recipient_5xx_permanent_4xx_transient(
    smtp_server, renderer, clock, reply, error
) -> None:
    controller, handler = smtp_server
    handler.rcpt_reply = reply
    config = SmtpConfig(host="127.0.0.1", port=controller.port)
    with pytest.raises(error) as info:
        await send_message(meeting_message(renderer, clock), config=config)
    assert info.value.code == int(reply[:3])
    assert handler.received == []


async def test_starttls_required_but_not_offered_is_permanent(smtp_server, renderer, clock):
    controller, _ = smtp_server
    config = SmtpConfig(host="127.0.0.1", port=controller.port, starttls=True)
    with pytest.raises(PermanentMailError):
        await send_message(meeting_message(renderer, clock), config=config)


def test_classification_table() -> None:
    assert classify_error(aiosmtplib.SMTPResponseException(421, "busy")).transient
    assert not classify_error(aiosmtplib.SMTPResponseException(554, "no")).transient
    assert not classify_error(aiosmtplib.SMTPAuthenticationError(535, "bad creds")).transient
    assert classify_error(aiosmtplib.SMTPAuthenticationError(454, "try later")).transient
    assert classify_error(aiosmtplib.SMTPServerDisconnected("gone")).transient
    assert classify_error(aiosmtplib.SMTPConnectTimeoutError("slow")).transient
    assert classify_error(ConnectionRefusedError(111, "refused")).transient
    assert not classify_error(aiosmtplib.SMTPNotSupported("no AUTH")).transient


def test_config_from_settings() -> None:
    settings = Settings(
        smtp_host="mail.example.org",
        smtp_port=587,
        smtp_username="u",
        smtp_password=SecretStr("p"),
        smtp_starttls=True,
        smtp_timeout_seconds=3,
    )
    config = SmtpConfig.from_settings(settings)
    assert (config.host, config.port, config.username, config.password) == (
        "mail.example.org",
        587,
        "u",
        "p",
    )
    assert config.starttls and not config.tls and config.timeout_seconds == 3
    assert "password" not in repr(config)
