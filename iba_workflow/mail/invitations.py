"""Meeting invitations as iCalendar (RFC 5545/5546) with the ``icalendar`` package.

One step instance is one calendar event for its whole life:

- the UID is derived from the step instance id only (:func:`invitation_uid`), so a
  re-planned meeting updates the event in the staff member's calendar instead of adding
  a second one;
- the caller keeps the SEQUENCE (a counter stored with the step instance): 0 for the
  first invitation, and one higher for every update **and** for the cancellation;
- ``METHOD:REQUEST`` for a new or updated meeting, ``METHOD:CANCEL`` with
  ``STATUS:CANCELLED`` for a cancelled one;
- DTSTART carries ``TZID=Europe/Copenhagen`` (with its VTIMEZONE);
- ORGANIZER and ATTENDEE are staff e-mail addresses only (no names, no citizen).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import icalendar

from iba_workflow.errors import MailError

from .render import StepRef, assert_no_cpr

TZ = ZoneInfo("Europe/Copenhagen")
DEFAULT_DOMAIN = "iba-workflow.local"
Method = Literal["REQUEST", "CANCEL"]

_EMAIL = re.compile(r"^[^@\s<>\"',;:()\[\]]+@[^@\s<>\"',;:()\[\]]+\.[^@\s<>\"',;:()\[\]]+$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TOKEN_PATH = re.compile(r"/(?:t|l)/[^/\s]+")


@dataclass(frozen=True)
class CalendarAttachment:
    """An .ics file ready for :func:`iba_workflow.mail.message.build_message`."""

    method: Method
    data: bytes
    filename: str = "invitation.ics"


@dataclass(frozen=True, kw_only=True)
class Invitation:
    step_instance_id: str | int
    sequence: int
    intervention: str
    step: StepRef
    enrollment_ref: str
    organizer: str  # staff e-mail address
    attendees: tuple[str, ...] = ()  # staff e-mail addresses
    #: Where the workspace is (``IBA_BASE_URL``), never a task link: a calendar entry is
    #: shared, synced and kept for years, and a single-use token in it is a capability
    #: for whoever reads the calendar. The link is in the mail's body only.
    workspace_url: str | None = None

    def __post_init__(self) -> None:
        if self.sequence < 0:
            raise MailError("an invitation's SEQUENCE cannot be negative", sequence=self.sequence)
        if self.workspace_url and _TOKEN_PATH.search(self.workspace_url):
            raise MailError(
                "a calendar invitation may not carry a task link",
                hint="give the workspace's address; the link belongs in the mail's body",
            )
        for address in (self.organizer, *self.attendees):
            check_address(address)
        clean_id(self.step_instance_id)


def clean_id(value: str | int) -> str:
    text = str(value)
    if not _ID.match(text):
        raise MailError(
            "an id for a Message-ID or UID must be letters, digits, '.', '_' or '-'",
            value=text,
        )
    return text


def check_address(address: str) -> str:
    """A bare e-mail address (``name@example.org``), never ``Name <...>``."""
    if not _EMAIL.match(address):
        raise MailError(
            f"not a bare e-mail address: {address!r}",
            hint="calendar invitations carry staff e-mail addresses only, without names",
        )
    return address


def invitation_uid(step_instance_id: str | int, *, domain: str = DEFAULT_DOMAIN) -> str:
    """The event UID of a step instance: the same id always gives the same UID."""
    return f"step-{clean_id(step_instance_id)}@{domain}"


def next_sequence(previous: int | None) -> int:
    """SEQUENCE for the next invitation of an event (``None``: never sent)."""
    return 0 if previous is None else previous + 1


def invitation_ics(
    inv: Invitation, *, method: Method, stamp: dt.datetime, domain: str = DEFAULT_DOMAIN
) -> bytes:
    """Render ``inv`` as an iTIP message. ``stamp`` (DTSTAMP) comes from the caller's Clock."""
    if stamp.tzinfo is None:
        raise MailError("DTSTAMP needs a timezone-aware datetime")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//iba-workflow//invitation//DA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = icalendar.Event()
    ev.add("uid", invitation_uid(inv.step_instance_id, domain=domain))
    ev.add("sequence", inv.sequence)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("summary", f"{inv.intervention} · {inv.step.name}")
    if inv.step.time is not None:
        ev.add("dtstart", dt.datetime.combine(inv.step.date, inv.step.time, tzinfo=TZ))
        ev.add("duration", dt.timedelta(minutes=inv.step.duration_minutes or 60))
    else:
        ev.add("dtstart", inv.step.date)
        ev.add("dtend", inv.step.date + dt.timedelta(days=1))
    if inv.step.place:
        ev.add("location", inv.step.place)
    lines = [f"Forløb {inv.enrollment_ref}."]
    if inv.step.attendee_roles:
        lines.append("Deltagere (roller): " + ", ".join(inv.step.attendee_roles) + ".")
    if method == "REQUEST":
        lines.append("Linket til opgaven står i mailen.")
    if inv.workspace_url:
        lines.append(f"iba-workflow: {inv.workspace_url}")
    ev.add("description", "\n".join(lines))
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    ev.add("transp", "TRANSPARENT" if method == "CANCEL" else "OPAQUE")
    ev.add("organizer", _cal_address(inv.organizer, organizer=True))
    for address in _unique(inv.attendees):
        ev.add("attendee", _cal_address(address, organizer=False))
    cal.add_component(ev)
    data = _with_timezones(cal)
    assert_no_cpr(data.decode("utf-8"))
    return data


def _with_timezones(cal: icalendar.Calendar) -> bytes:
    """``cal.add_missing_timezones(); cal.to_ical()``, byte for byte, with each VTIMEZONE
    built and serialised once per process: building Europe/Copenhagen's from zoneinfo and
    writing its 60 transitions cost ~25 ms per mail; it is the same every time. It goes
    where icalendar puts it: after the calendar's properties, before the event."""
    zones = b"".join(_vtimezone(tzid) for tzid in sorted(cal.get_missing_tzids()))
    data: bytes = cal.to_ical()
    if not zones:
        return data
    event = b"BEGIN:VEVENT\r\n"
    assert data.count(event) == 1
    return data.replace(event, zones + event)


@lru_cache(maxsize=16)
def _vtimezone(tzid: str) -> bytes:
    try:
        return bytes(icalendar.Timezone.from_tzid(tzid).to_ical())
    except ValueError:  # unknown: left out, as icalendar does
        return b""


def request_attachment(
    inv: Invitation, *, stamp: dt.datetime, domain: str = DEFAULT_DOMAIN
) -> CalendarAttachment:
    """A new or updated meeting (METHOD:REQUEST)."""
    return CalendarAttachment(
        "REQUEST", invitation_ics(inv, method="REQUEST", stamp=stamp, domain=domain)
    )


def cancel_attachment(
    inv: Invitation, *, stamp: dt.datetime, domain: str = DEFAULT_DOMAIN
) -> CalendarAttachment:
    """A cancelled meeting (METHOD:CANCEL, STATUS:CANCELLED)."""
    return CalendarAttachment(
        "CANCEL",
        invitation_ics(inv, method="CANCEL", stamp=stamp, domain=domain),
        filename="cancel.ics",
    )


def _cal_address(address: str, *, organizer: bool) -> icalendar.vCalAddress:
    value = icalendar.vCalAddress(f"mailto:{check_address(address)}")
    if not organizer:
        value.params["ROLE"] = "REQ-PARTICIPANT"
        value.params["PARTSTAT"] = "NEEDS-ACTION"
        value.params["RSVP"] = "FALSE"
    return value


def _unique(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out
