"""Staff calendars read for free/busy, over HTTP with httpx:

- **CalDAV** (RFC 4791): a ``REPORT`` *calendar-query* with a time-range filter on the
  calendar collection; the server returns the matching events, and we expand their
  recurrences ourselves (servers differ in ``<expand>`` support);
- **published iCalendar URLs** (Outlook / Microsoft 365 "publish calendar", Google's
  "secret address in iCal format"): a plain ``GET``.

Only busy periods come back; summaries are dropped. An unreachable or refusing server is
a :class:`ScheduleError` with a sentence, never a traceback. The URL of a published
calendar is a secret: it is never logged.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import httpx

from .icalendar_io import busy_from_ics
from .model import Busy, ScheduleError

_NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
TIMEOUT = httpx.Timeout(10.0)


def _utc(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query_body(first: dt.date, last: dt.date) -> str:
    end = last + dt.timedelta(days=1)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:calendar-data/></d:prop>
  <c:filter>
    <c:comp-filter name="VCALENDAR">
      <c:comp-filter name="VEVENT">
        <c:time-range start="{_utc(first)}" end="{_utc(end)}"/>
      </c:comp-filter>
    </c:comp-filter>
  </c:filter>
</c:calendar-query>"""


def caldav_busy(
    url: str,
    first: dt.date,
    last: dt.date,
    *,
    auth: tuple[str, str] | None = None,
    client: httpx.Client | None = None,
) -> list[Busy]:
    """Busy periods of the CalDAV calendar collection at ``url`` from ``first`` to
    ``last`` (inclusive)."""
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        response = http.request(
            "REPORT",
            url,
            content=calendar_query_body(first, last).encode("utf-8"),
            headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            auth=auth,
        )
    except httpx.HTTPError as exc:
        raise ScheduleError(
            f"the CalDAV server could not be reached ({type(exc).__name__})",
            hint="check the calendar's address and that the server is up",
        ) from None
    finally:
        if own:
            http.close()
    if response.status_code != 207:
        raise ScheduleError(
            f"the CalDAV server answered {response.status_code} to the calendar query",
            hint="check the calendar's address and the user name and password",
        )
    busy: list[Busy] = []
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        raise ScheduleError("the CalDAV server's answer is not XML") from None
    for node in root.iterfind(".//c:calendar-data", _NS):
        if node.text:
            busy.extend(busy_from_ics(node.text, first, last))
    return sorted(busy, key=lambda b: (b.start, b.end))


def published_busy(
    url: str, first: dt.date, last: dt.date, *, client: httpx.Client | None = None
) -> list[Busy]:
    """Busy periods of a published iCalendar URL (``webcal://`` is read as ``https://``)."""
    if url.startswith("webcal://"):
        url = "https://" + url.removeprefix("webcal://")
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise ScheduleError(
            f"the published calendar could not be read ({type(exc).__name__})",
            hint="check that the calendar is still published and the address is whole",
        ) from None
    finally:
        if own:
            http.close()
    if response.status_code != 200:
        raise ScheduleError(
            f"the published calendar answered {response.status_code}",
            hint="publish the calendar again and store the new address",
        )
    return busy_from_ics(response.content, first, last)
