"""Building the ``EmailMessage`` for one outbox row.

The Message-ID is derived from the outbox id only (``<outbox-{id}@iba-workflow.local>``),
so a retry after a crash sends a mail that mail servers and people recognise as the same
one. The Date comes from a Clock. The body is ``multipart/alternative`` (text, HTML and,
for meetings, ``text/calendar; method=…`` as Outlook expects), and the .ics travels also as
an attachment.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from email.message import EmailMessage

from iba_workflow.clock import COPENHAGEN, Clock
from iba_workflow.errors import MailError

from .invitations import DEFAULT_DOMAIN, CalendarAttachment, check_address, clean_id
from .render import RenderedMail, assert_no_cpr


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

    msg = EmailMessage()
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
