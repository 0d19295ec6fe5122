"""When to try a failed mail again, and when to give up (dead letter): THE retry policy.

The outbox (``store.outbox.mark_failed``) asks :func:`decide_after_failure` after every
failed send; nothing else retries a mail (no Prefect task retries, no loop in the
dispatcher). The settings ``IBA_MAIL_RETRY_BASE_SECONDS``, ``IBA_MAIL_RETRY_CAP_SECONDS``
and ``IBA_MAIL_MAX_ATTEMPTS`` set it (:meth:`BackoffPolicy.from_settings`).

The delay grows exponentially from ``base`` by ``factor`` up to ``cap``. Jitter spreads
retries of many messages so they do not hit a recovering server at once; it is derived
from the message id and the attempt number (SHA-256), not from a random generator, so a
schedule is reproducible in tests and after a restart. Jitter only shortens a delay, so
``cap`` is a true upper bound.

With the defaults (30 s, ×2, cap 1 h, 8 attempts) a message is tried over about two hours
before it is dead-lettered: an SMTP server that is down for ten minutes loses nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from iba_workflow.errors import IbaError

if TYPE_CHECKING:
    from iba_workflow.settings import Settings


@dataclass(frozen=True, kw_only=True)
class BackoffPolicy:
    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = 0.2  # a delay is shortened by up to this fraction
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base <= dt.timedelta(0) or self.cap < self.base:
            raise IbaError("backoff needs 0 < base <= cap")
        if self.factor < 1 or not 0 <= self.jitter < 1 or self.max_attempts < 1:
            raise IbaError("backoff needs factor >= 1, 0 <= jitter < 1 and max_attempts >= 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> BackoffPolicy:
        base = dt.timedelta(seconds=settings.mail_retry_base_seconds)
        return cls(
            base=base,
            cap=max(base, dt.timedelta(seconds=settings.mail_retry_cap_seconds)),
            max_attempts=settings.mail_max_attempts,
        )


@dataclass(frozen=True)
class RetryDecision:
    action: Literal["retry", "dead_letter"]
    attempts: int  # attempts made so far, including the failed one
    retry_at: dt.datetime | None = None
    reason: str = ""


def jitter_fraction(message_id: str, attempt: int) -> float:
    """A number in [0, 1) fixed by (message id, attempt)."""
    digest = hashlib.sha256(f"{message_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def retry_delay(attempt: int, *, message_id: str, policy: BackoffPolicy) -> dt.timedelta:
    """The wait after failed attempt number ``attempt`` (1 = the first try)."""
    if attempt < 1:
        raise IbaError("attempt numbers start at 1", attempt=attempt)
    raw = policy.base.total_seconds() * policy.factor ** (attempt - 1)
    capped = min(raw, policy.cap.total_seconds())
    shortened = capped * (1 - policy.jitter * jitter_fraction(message_id, attempt))
    return dt.timedelta(seconds=round(shortened, 3))


def schedule(*, message_id: str, policy: BackoffPolicy) -> list[dt.timedelta]:
    """Every delay a message may wait before it is dead-lettered (for docs and tests)."""
    return [
        retry_delay(n, message_id=message_id, policy=policy) for n in range(1, policy.max_attempts)
    ]


def decide_after_failure(
    *,
    attempts: int,
    message_id: str,
    now: dt.datetime,
    policy: BackoffPolicy,
    permanent: bool = False,
) -> RetryDecision:
    """After a failed send: retry at a time, or dead-letter (N attempts, or a 5xx)."""
    if now.tzinfo is None:
        raise IbaError("now must be timezone-aware")
    if permanent:
        return RetryDecision("dead_letter", attempts, reason="permanent error")
    if attempts >= policy.max_attempts:
        return RetryDecision("dead_letter", attempts, reason=f"{attempts} attempts")
    delay = retry_delay(attempts, message_id=message_id, policy=policy)
    return RetryDecision("retry", attempts, retry_at=now + delay)
