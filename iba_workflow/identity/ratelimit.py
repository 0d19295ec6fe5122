"""Rate limits: a sliding-window counter per key, in process memory.

In-process is enough for one web process (``iba web``, ``iba up``): the counters live as
long as the process and are lost at a restart, which only forgives. With several web
processes behind a load balancer each counts on its own, so a client gets up to N times
the limit; a shared store (Redis, or a table) would be needed then. Time comes from the
caller (``now``), so tests move a clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    """``hit(key, limit=, window=, now=)``: count a request; refuse above the limit."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._hits: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime) -> Verdict:
        with self._lock:
            if len(self._hits) > self._max_keys:
                self._forget_old(now, window)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                wait = (hits[0] + window - now).total_seconds()
                return Verdict(False, max(1, math.ceil(wait)))
            hits.append(now)
            return Verdict(True)

    def _forget_old(self, now: dt.datetime, window: dt.timedelta) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]
