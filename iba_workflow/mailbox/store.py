"""The dev mailbox's memory: the last N messages received, parsed for display."""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from iba_workflow.clock import Clock

URL_PATTERN = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class StoredMessage:
    id: int
    received_at: dt.datetime
    envelope_from: str
    envelope_to: tuple[str, ...]
    raw: bytes = field(repr=False)
    subject: str
    from_: str
    to: str
    date: str | None
    message_id: str | None
    text: str | None
    html: str | None
    calendar: str | None
    attachments: tuple[Attachment, ...]
    links: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "envelope_from": self.envelope_from,
            "envelope_to": list(self.envelope_to),
            "subject": self.subject,
            "from": self.from_,
            "to": self.to,
            "date": self.date,
            "message_id": self.message_id,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in self.attachments
            ],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "text": self.text,
            "html": self.html,
            "calendar": self.calendar,
            "links": list(self.links),
        }


def _part_text(part: EmailMessage | None) -> str | None:
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # unknown charset or broken encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None


def parse_message(
    raw: bytes,
    *,
    id: int,
    received_at: dt.datetime,
    envelope_from: str,
    envelope_to: tuple[str, ...],
) -> StoredMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    text = _part_text(msg.get_body(preferencelist=("plain",)))  # type: ignore[arg-type]
    html = _part_text(msg.get_body(preferencelist=("html",)))  # type: ignore[arg-type]
    calendar = None
    attachments = []
    for part in msg.walk():
        if part.get_content_type() == "text/calendar" and calendar is None:
            calendar = _part_text(part)  # type: ignore[arg-type]
        if part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            attachments.append(
                Attachment(
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                    size=len(payload) if isinstance(payload, bytes) else 0,
                )
            )
    links = tuple(dict.fromkeys(URL_PATTERN.findall(text or "")))
    return StoredMessage(
        id=id,
        received_at=received_at,
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        raw=raw,
        subject=str(msg.get("Subject", "")),
        from_=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        date=str(msg["Date"]) if msg["Date"] else None,
        message_id=str(msg["Message-ID"]) if msg["Message-ID"] else None,
        text=text,
        html=html,
        calendar=calendar,
        attachments=tuple(attachments),
        links=links,
    )


class MessageStore:
    """The last ``limit`` messages, newest last; ids are never reused."""

    def __init__(self, *, clock: Clock, limit: int = 500) -> None:
        self.clock = clock
        self._messages: collections.deque[StoredMessage] = collections.deque(maxlen=limit)
        self._next_id = 1

    def add(self, raw: bytes, *, envelope_from: str, envelope_to: list[str]) -> StoredMessage:
        stored = parse_message(
            raw,
            id=self._next_id,
            received_at=self.clock.now(),
            envelope_from=envelope_from,
            envelope_to=tuple(envelope_to),
        )
        self._next_id += 1
        self._messages.append(stored)
        return stored

    def all(self) -> list[StoredMessage]:
        """Newest first."""
        return list(reversed(self._messages))

    def get(self, message_id: int) -> StoredMessage | None:
        return next((m for m in self._messages if m.id == message_id), None)

    def clear(self) -> None:
        self._messages.clear()

    def __len__(self) -> int:
        return len(self._messages)


class StoringHandler:
    """aiosmtpd handler: every message accepted is kept in the store."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.store.add(raw, envelope_from=envelope.mail_from or "", envelope_to=envelope.rcpt_tos)
        return "250 Message accepted for delivery"
