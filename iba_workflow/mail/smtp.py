"""Sending one message with aiosmtplib, and telling a passing failure from a final one.

:func:`send_message` raises :class:`TransientMailError` when a later try may succeed
(connection refused or reset, timeouts, 4xx replies) and :class:`PermanentMailError`
when it will not (5xx replies, a server without the STARTTLS/AUTH/SMTPUTF8 the settings
or the message need, a certificate that does not verify). The dispatcher backs off on the first and
dead-letters on the second.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from iba_workflow.errors import MailSendError, PermanentMailError, TransientMailError


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 1025
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    tls: bool = False  # implicit TLS (port 465)
    timeout_seconds: float = 10.0
    validate_certs: bool = True

    @classmethod
    def from_settings(cls, settings: object) -> SmtpConfig:
        s = settings
        password = s.smtp_password  # type: ignore[attr-defined]
        return cls(
            host=s.smtp_host,  # type: ignore[attr-defined]
            port=s.smtp_port,  # type: ignore[attr-defined]
            username=s.smtp_username,  # type: ignore[attr-defined]
            password=password.get_secret_value() if password is not None else None,
            starttls=s.smtp_starttls,  # type: ignore[attr-defined]
            tls=s.smtp_tls,  # type: ignore[attr-defined]
            timeout_seconds=s.smtp_timeout_seconds,  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class SendResult:
    response: str
    refused: dict[str, str] = field(default_factory=dict)  # some recipients refused


async def send_message(
    message: EmailMessage,
    *,
    config: SmtpConfig,
    recipients: Sequence[str] | None = None,
) -> SendResult:
    """Send ``message`` (recipients from its headers unless given). Raises MailSendError."""
    try:
        errors, response = await aiosmtplib.send(
            message,
            recipients=list(recipients) if recipients is not None else None,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls,
            start_tls=config.starttls,
            validate_certs=config.validate_certs,
            timeout=config.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise classify_error(exc, host=config.host, port=config.port) from exc
    refused = {addr: f"{r.code} {r.message}" for addr, r in errors.items()}
    return SendResult(response=response, refused=refused)


def classify_error(exc: BaseException, *, host: str = "", port: int = 0) -> MailSendError:
    """Map an aiosmtplib/OS error to a transient or permanent :class:`MailSendError`."""
    where = f"{host}:{port}" if host else "the SMTP server"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentMailError(
                f"{where} refused every recipient", code=codes[0], recipients=len(codes)
            )
        return TransientMailError(f"{where} refused the recipients for now", code=codes[0])
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return PermanentMailError(
                f"{where} refused the mail: {exc.code} {exc.message}",
                code=exc.code,
                hint="check the sender, the recipients and the SMTP settings",
            )
        return TransientMailError(
            f"{where} answered {exc.code} {exc.message}; will retry", code=exc.code
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentMailError(
            f"{where} does not support what the settings ask: {exc}",
            hint="check IBA_SMTP_STARTTLS, IBA_SMTP_TLS and the credentials",
        )
    if _caused_by(exc, ssl.SSLCertVerificationError):
        return PermanentMailError(
            f"the TLS certificate of {where} does not verify",
            hint="fix the certificate or the host name in IBA_SMTP_HOST",
        )
    if isinstance(exc, TimeoutError):
        return TransientMailError(f"{where} timed out; will retry")
    if isinstance(exc, OSError):  # refused, reset, unreachable, disconnected
        return TransientMailError(f"cannot reach {where} ({exc}); will retry")
    if isinstance(exc, aiosmtplib.SMTPException):  # no STARTTLS/AUTH offered, and the like
        return PermanentMailError(
            f"{where} cannot do what the settings ask: {exc}",
            hint="check IBA_SMTP_STARTTLS, IBA_SMTP_TLS and the credentials",
        )
    return TransientMailError(f"sending via {where} failed ({exc}); will retry")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        if isinstance(current, kind):
            return True
        current = current.__cause__ or current.__context__
    return False
