"""A handle on the Radicale server that ``conftest.caldav_server`` starts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class CalDavServer:
    base: str  # http://127.0.0.1:PORT
    user: str = "iba"
    password: str = "x"

    def calendar(self, name: str) -> str:
        """Create a new calendar collection named after ``name`` and return its URL."""
        url = f"{self.base}/{self.user}/{name}-{uuid.uuid4().hex[:8]}/"
        r = httpx.request("MKCALENDAR", url, auth=(self.user, self.password))
        assert r.status_code == 201, r.text
        return url

    def put_event(self, calendar_url: str, uid: str, ics: str) -> None:
        r = httpx.put(
            f"{calendar_url}{uid}.ics",
            content=ics.encode("utf-8"),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            auth=(self.user, self.password),
        )
        assert r.status_code in (201, 204), r.text
