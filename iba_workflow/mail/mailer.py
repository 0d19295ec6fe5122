"""Who hands a message to the world: the :class:`Mailer` protocol, like httpx's transports.

A mailer opens a *session* for a batch (``async with mailer.session() as outgoing``) and
sends messages through it one by one. :class:`SmtpMailer` keeps one SMTP connection for
the whole session (connected on the first send, reconnected after a failure), so a batch
of 200 mails costs one TCP and SMTP handshake instead of 200. :class:`MemoryMailer`
keeps the messages in a list and fails the ones a test asks it to: the dispatcher's
logic is tested without a socket, and the SMTP part against a real aiosmtpd.

Every failure is a :class:`~iba_workflow.errors.MailSendError` (transient or permanent,
decided by :func:`~iba_workflow.mail.smtp.classify_error`); a failed message never spoils
the next one in the same session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from iba_workflow.errors import MailSendError

from .message import smtp_bytes
from .smtp import SendResult, SmtpConfig, classify_error


class OutgoingMail(Protocol):
    """An open mail session: send messages one at a time."""

    async def send(
        self, message: EmailMessage, *, recipients: Sequence[str] | None = None
    ) -> SendResult:
        """Send ``message`` (recipients from its headers unless given), or raise
        :class:`MailSendError`."""
        ...


class Mailer(Protocol):
    def session(self) -> AbstractAsyncContextManager[OutgoingMail]:
        """A session for a batch of messages."""
        ...


class _SmtpSession:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.client: aiosmtplib.SMTP | None = None
        self.connections = 0

    async def _connected(self) -> aiosmtplib.SMTP:
        if self.client is not None and self.client.is_connected:
            return self.client
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.tls,
            start_tls=c.starttls,
            validate_certs=c.validate_certs,
            timeout=c.timeout_seconds,
        )
        await client.connect()
        self.client = client
        self.connections += 1
        return client

    async def send(
        self, message: EmailMessage, *, recipients: Sequence[str] | None = None
    ) -> SendResult:
        try:
            client = await self._connected()
            errors, response = await _send_message(client, message, recipients)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()  # a fresh connection for the next message
            raise classify_error(exc, host=self.config.host, port=self.config.port) from exc
        refused = {addr: f"{r.code} {r.message}" for addr, r in errors.items()}
        return SendResult(response=response, refused=refused)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def _send_message(
    client: aiosmtplib.SMTP, message: EmailMessage, recipients: Sequence[str] | None
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    """``client.send_message(message, recipients=…)``, with the message serialised by
    :func:`~iba_workflow.mail.message.smtp_bytes` (the same bytes; headers folded once
    per process, not once per mail). The same envelope and options as aiosmtplib's:
    the sender from From, SMTPUTF8 when an address needs it, BODY=8BITMIME when offered."""
    if not isinstance(message, EmailMessage) or "Resent-Date" in message:
        return await client.send_message(message, recipients=recipients)  # the rare forms
    sender = extract_sender(message)
    rcpts = list(recipients) if recipients is not None else extract_recipients(message)
    if sender is None or not rcpts:
        return await client.send_message(message, recipients=recipients)  # its ValueError
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()
    options: list[str] = []
    utf8 = not (sender + "".join(rcpts)).isascii()
    if utf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "An address containing non-ASCII characters was provided, but "
                "SMTPUTF8 is not supported by this server"
            )
        options.append("SMTPUTF8")
    cte_type = "7bit"
    if client.supports_extension("8BITMIME"):
        options.append("BODY=8BITMIME")
        cte_type = "8bit"
    data = smtp_bytes(message, utf8=utf8, cte_type=cte_type)
    return await client.sendmail(sender, rcpts, data, mail_options=options)


@dataclass(frozen=True)
class SmtpMailer:
    """Delivery over SMTP with aiosmtplib: one connection per session."""

    config: SmtpConfig

    @classmethod
    def from_settings(cls, settings: object) -> SmtpMailer:
        return cls(SmtpConfig.from_settings(settings))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[OutgoingMail]:
        outgoing = _SmtpSession(self.config)
        try:
            yield outgoing
        finally:
            await outgoing.close()


@dataclass(frozen=True)
class SentMail:
    message: EmailMessage
    recipients: tuple[str, ...]


Refusal = Callable[[EmailMessage, tuple[str, ...]], MailSendError | None]


@dataclass
class MemoryMailer:
    """Keeps every accepted message in :attr:`sent`. ``refuse(message, recipients)``
    returns the error a message fails with, or None to accept it."""

    refuse: Refusal | None = None
    sent: list[SentMail] = field(default_factory=list)
    sessions: int = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[OutgoingMail]:
        self.sessions += 1
        yield _MemorySession(self)


class _MemorySession:
    def __init__(self, mailer: MemoryMailer) -> None:
        self.mailer = mailer

    async def send(
        self, message: EmailMessage, *, recipients: Sequence[str] | None = None
    ) -> SendResult:
        to = tuple(recipients) if recipients is not None else _header_recipients(message)
        if self.mailer.refuse is not None:
            error = self.mailer.refuse(message, to)
            if error is not None:
                raise error
        self.mailer.sent.append(SentMail(message, to))
        return SendResult(response="250 kept in memory")


def _header_recipients(message: EmailMessage) -> tuple[str, ...]:
    from email.utils import getaddresses

    values = [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
    return tuple(addr for _, addr in getaddresses(values))
