"""Link tokens: the way from a mail to one task, for one person, once.

- A token is ``secrets.token_urlsafe(32)``: 256 random bits, 43 URL-safe characters.
- Only its SHA-256 (hex) is stored; the plain token exists in the mail and nowhere else.
- It is bound to one step instance and one staff member, expires (default
  ``Settings.link_ttl_days``) and is single-use: the row records when and by whom it was
  used.
- :func:`check_link` is a pure function the web layer calls with the row it found by
  :func:`hash_token` (or ``None``). GET only checks; the POST marks the row used.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from iba_workflow.errors import LinkError

TOKEN_BYTES = 32  # 256 bits
DEFAULT_TTL = dt.timedelta(days=14)
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(token: str) -> bool:
    """True for strings shaped like our tokens (cheap refusal before any lookup)."""
    return bool(_TOKEN_SHAPE.match(token))


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex (64 characters)."""
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def link_ttl(settings: object) -> dt.timedelta:
    return dt.timedelta(days=int(settings.link_ttl_days))  # type: ignore[attr-defined]


def link_url(base_url: str, token: str) -> str:
    """The URL put in a mail: ``{base_url}/l/{token}``."""
    return f"{base_url.rstrip('/')}/l/{token}"


@dataclass(frozen=True, kw_only=True)
class IssuedLink:
    """A new link: ``token`` goes into the mail, the rest into the database."""

    token: str
    token_hash: str
    step_instance_id: str
    staff_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime

    def __repr__(self) -> str:  # never print the plain token in logs
        return (
            f"IssuedLink(token_hash={self.token_hash[:12]}…, step_instance_id="
            f"{self.step_instance_id!r}, staff_id={self.staff_id!r}, "
            f"expires_at={self.expires_at.isoformat()})"
        )


def issue_link(
    *,
    step_instance_id: str | int,
    staff_id: str | int,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> IssuedLink:
    if now.tzinfo is None:
        raise LinkError("now must be timezone-aware")
    if ttl <= dt.timedelta(0):
        raise LinkError("a link's lifetime must be positive", ttl=str(ttl))
    token = new_token()
    return IssuedLink(
        token=token,
        token_hash=hash_token(token),
        step_instance_id=str(step_instance_id),
        staff_id=str(staff_id),
        issued_at=now,
        expires_at=now + ttl,
    )


class LinkRow(Protocol):
    """What :func:`check_link` reads from the stored link (a SQLModel row fits)."""

    # read-only properties, so that a row whose ids are plain ``int`` fits too
    @property
    def token_hash(self) -> str: ...
    @property
    def step_instance_id(self) -> str | int: ...
    @property
    def staff_id(self) -> str | int: ...
    @property
    def expires_at(self) -> dt.datetime: ...
    @property
    def used_at(self) -> dt.datetime | None: ...


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    WRONG_STEP = "wrong_step"
    WRONG_STAFF = "wrong_staff"
    UNKNOWN = "unknown"  # no such token, or altered: say nothing more


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    used_at: dt.datetime | None = None
    expired_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.state is LinkState.VALID


def check_link(
    token: str,
    row: LinkRow | None,
    *,
    now: dt.datetime,
    step_instance_id: str | int | None = None,
    staff_id: str | int | None = None,
) -> LinkCheck:
    """The state of a presented token against its stored row (``None``: not found).

    Order: unknown (no row, wrong shape, hash mismatch) → wrong step → wrong staff →
    used (a used link keeps saying who and when, even after it expires) → expired → valid.
    ``step_instance_id``/``staff_id`` are what the request is about, when it says.
    """
    if now.tzinfo is None:
        raise LinkError("now must be timezone-aware")
    if row is None or not looks_like_token(token) or not token_matches(token, row.token_hash):
        return LinkCheck(LinkState.UNKNOWN)
    if step_instance_id is not None and str(step_instance_id) != str(row.step_instance_id):
        return LinkCheck(LinkState.WRONG_STEP)
    if staff_id is not None and str(staff_id) != str(row.staff_id):
        return LinkCheck(LinkState.WRONG_STAFF)
    if row.used_at is not None:
        return LinkCheck(LinkState.USED, used_at=row.used_at)
    expires_at = row.expires_at
    if expires_at.tzinfo is None:  # SQLite drops the zone; we store UTC
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    if now >= expires_at:
        return LinkCheck(LinkState.EXPIRED, expired_at=expires_at)
    return LinkCheck(LinkState.VALID)
