"""CSRF tokens for the confirm form of a task page (itsdangerous).

The form token is a signed, time-stamped value bound to the link: the signed payload is
a digest of the link-token hash (so the page does not show the stored hash itself). A
POST must bring a CSRF token made for the same link, by the same key, not older than
``max_age``. Time comes from the caller (``now``), not from the wall clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from iba_workflow.errors import LinkError

SALT = "iba-workflow.task-confirm"
DEFAULT_MAX_AGE = dt.timedelta(hours=12)


class _ClockedSigner(TimestampSigner):
    def __init__(self, secret: str | bytes, *, now: Callable[[], dt.datetime]) -> None:
        super().__init__(secret, salt=SALT)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now().timestamp())


def _binding(token_hash: str) -> str:
    return hashlib.sha256(f"csrf:{token_hash}".encode()).hexdigest()[:32]


def _signer(secret: str | bytes, now: dt.datetime) -> _ClockedSigner:
    if not secret:
        raise LinkError("a CSRF token needs a secret key", hint="set IBA_SECRET_KEY")
    if now.tzinfo is None:
        raise LinkError("now must be timezone-aware")
    return _ClockedSigner(secret, now=lambda: now)


def make_csrf_token(*, secret: str | bytes, token_hash: str, now: dt.datetime) -> str:
    """The hidden form value for the confirm form of the link with ``token_hash``."""
    return _signer(secret, now).sign(_binding(token_hash)).decode("ascii")


def check_csrf_token(
    csrf_token: str,
    *,
    secret: str | bytes,
    token_hash: str,
    now: dt.datetime,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
) -> bool:
    """True if ``csrf_token`` was made for this link, with this key, within ``max_age``."""
    try:
        value = _signer(secret, now).unsign(csrf_token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        return False
    except BadSignature:
        return False
    return value.decode("ascii", errors="replace") == _binding(token_hash)
