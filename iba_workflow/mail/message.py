"""Building the ``EmailMessage`` for one outbox row.

The Message-ID is derived from the outbox id only (``<outbox-{id}@iba-workflow.local>``),
so a retry after a crash sends a mail that mail servers and people recognise as the same
one. The Date comes from a Clock. The body is ``multipart/alternative`` (text, HTML and,
for meetings, ``text/calendar; method=…`` as Outlook expects), and the .ics travels also as
an attachment.

Messages are built with :data:`POLICY`, ``email.policy.default`` with two memos (the same
bytes, less work): a header built from the same name and text is parsed once per process
(From, Auto-Submitted, the parts' Content-Type and Content-Transfer-Encoding, and a
subject that recurs are the same in every mail), and a header object folds once per
line length and line ending. Parsing and folding headers was ~40 % of building and
serialising a task mail.
"""

from __future__ import annotations

import copy
import email.utils
import io
from collections.abc import Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

from iba_workflow.clock import COPENHAGEN, Clock
from iba_workflow.errors import MailError

from .invitations import DEFAULT_DOMAIN, CalendarAttachment, check_address, clean_id
from .render import RenderedMail, assert_no_cpr

_MEMO_SIZE = 4096  # distinct header values kept (the recurring ones; per-mail ones churn)


class MemoPolicy(EmailPolicy):
    """``email.policy.default`` whose header parsing and folding are memoised. A header
    object is immutable and a pure function of its name and text; its fold of the policy's
    ``max_line_length``, ``linesep`` and ``utf8``, which are the memo's key."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})  # shared by clones (they copy __dict__)

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is not str:
            return super().header_store_parse(name, value)  # a header object as it is
        memo: dict[tuple[str, str], Any] = self._parsed  # type: ignore[attr-defined]
        key = (name, value)
        header = memo.get(key)
        if header is None:  # parsed (or refused: a line break) as the default policy does
            header = super().header_store_parse(name, value)[1]
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = header
        return name, header

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        if not hasattr(value, "name"):
            return str(super()._fold(name, value, refold_binary))  # type: ignore[misc]
        folds = vars(value).setdefault("_iba_folds", {})
        key = (self.max_line_length, self.linesep, self.utf8)
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = value.fold(policy=self)
        return str(folded)


#: The policy every message is built with (and serialised with, ``SMTP_POLICY``).
POLICY = MemoPolicy()
SMTP_POLICY = POLICY.clone(linesep="\r\n")  # as ``email.policy.SMTP``
_SMTP_POLICIES = {
    (utf8, cte): SMTP_POLICY.clone(utf8=utf8, cte_type=cte)
    for utf8 in (False, True)
    for cte in ("8bit", "7bit")
}


def smtp_bytes(message: EmailMessage, *, utf8: bool = False, cte_type: str = "8bit") -> bytes:
    """``message`` as aiosmtplib's ``send_message`` puts it on the wire (its
    ``flatten_message``: ``email.policy.SMTP``, or ``SMTPUTF8``; Bcc left out), with the
    memos of :data:`POLICY`: the same bytes, but every header is folded once."""
    if "Bcc" in message or "Resent-Bcc" in message:
        message = copy.copy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    with io.BytesIO() as out:
        BytesGenerator(out, policy=_SMTP_POLICIES[(utf8, cte_type)]).flatten(message)
        return out.getvalue()


def message_id(outbox_id: str | int, *, domain: str = DEFAULT_DOMAIN) -> str:
    """The stable Message-ID of an outbox message: same id, same Message-ID."""
    return f"<outbox-{clean_id(outbox_id)}@{domain}>"


def build_message(
    *,
    outbox_id: str | int,
    rendered: RenderedMail,
    sender: str,
    to: Sequence[str],
    clock: Clock,
    calendar: CalendarAttachment | None = None,
    domain: str = DEFAULT_DOMAIN,
) -> EmailMessage:
    """One mail, ready for :func:`iba_workflow.mail.smtp.send_message`.

    ``sender`` may carry a display name (``iba-workflow <noreply@…>``); ``to`` are bare
    staff addresses.
    """
    if not to:
        raise MailError("a mail needs at least one recipient", outbox_id=str(outbox_id))
    for address in to:
        check_address(address)
    _name, address = email.utils.parseaddr(sender)
    if not address or "@" not in address:
        raise MailError(f"not a sender address: {sender!r}", hint="set IBA_MAIL_FROM")
    calendar_text = calendar.data.decode("utf-8") if calendar else ""
    assert_no_cpr(rendered.subject, rendered.text, rendered.html, calendar_text)

    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = email.utils.format_datetime(clock.now().astimezone(COPENHAGEN))
    msg["Message-ID"] = message_id(outbox_id, domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Content-Language"] = "da"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    if calendar is not None:
        msg.add_alternative(calendar_text, subtype="calendar", params={"method": calendar.method})
        msg.add_attachment(
            calendar.data,
            maintype="application",
            subtype="ics",
            filename=calendar.filename,
        )
    return msg
