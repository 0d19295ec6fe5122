"""One sign-in attempt through the identity provider, kept server-side (table
``oidc_login``) between ``/log-ind/oidc`` and its callback.

A row holds what the callback needs and nobody else may see: the PKCE code verifier
(never in a URL, a cookie or a log) and the nonce. It is found by the SHA-256 of the
``state`` parameter and bound to the browser that started it (the SHA-256 of a random
value in a short-lived cookie), so a callback link carried to another browser is refused.
:func:`spend_login` uses it once: a conditional ``UPDATE … WHERE used_at IS NULL`` whose
row count decides, so a replayed callback is refused even when two arrive at once. The
verifier is wiped when it is spent; rows older than a day are deleted at the next start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from iba_workflow.store.types import UTCDateTime

if TYPE_CHECKING:  # the store imports this table: not httpx and joserfc with it
    from .oidc_discovery import OidcError

LOGIN_TTL = dt.timedelta(minutes=10)
KEEP_SPENT = dt.timedelta(days=1)


class OidcLoginRow(SQLModel, table=True):
    __tablename__ = "oidc_login"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(unique=True, max_length=64)
    browser_hash: str = Field(max_length=64)
    nonce: str
    code_verifier: str
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class NewLogin:
    """The secrets of a fresh attempt: ``state`` and ``nonce`` go into the authorization
    URL, ``browser`` into the binding cookie, ``code_verifier`` stays on the server."""

    state: str
    nonce: str
    code_verifier: str
    browser: str


@dataclass(frozen=True)
class SpentLogin:
    nonce: str
    code_verifier: str


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def begin_login(db: Session, *, now: dt.datetime) -> NewLogin:
    """Store a new attempt (the caller commits) and forget attempts older than a day."""
    db.execute(delete(OidcLoginRow).where(col(OidcLoginRow.expires_at) < now - KEEP_SPENT))
    login = NewLogin(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # 86 characters (RFC 7636: 43–128)
        browser=secrets.token_urlsafe(32),
    )
    db.add(
        OidcLoginRow(
            state_hash=digest(login.state),
            browser_hash=digest(login.browser),
            nonce=login.nonce,
            code_verifier=login.code_verifier,
            created_at=now,
            expires_at=now + LOGIN_TTL,
        )
    )
    db.flush()
    return login


def _refused(reason: str) -> OidcError:
    from .oidc_discovery import OidcError

    sentences = {
        "state_missing": "Svaret fra identitetsudbyderen mangler en del.",
        "state_unknown": "Dette log ind-forsøg kendes ikke.",
        "state_replayed": "Dette log ind-forsøg er allerede brugt.",
        "state_expired": "Dette log ind-forsøg er for gammelt.",
        "browser_mismatch": "Log ind blev startet i en anden browser.",
    }
    return OidcError(
        sentences[reason], reason=reason, hint="Start forfra med knappen på log ind-siden."
    )


def spend_login(
    db: Session, *, state: str | None, browser: str | None, now: dt.datetime
) -> SpentLogin:
    """Use the attempt named by ``state`` once, from the browser that started it. The
    caller commits at once (a failed code exchange must not give the attempt back)."""
    if not state:
        raise _refused("state_missing")
    row = db.exec(select(OidcLoginRow).where(OidcLoginRow.state_hash == digest(state))).first()
    if row is None:
        raise _refused("state_unknown")
    if row.used_at is not None:
        raise _refused("state_replayed")
    if row.expires_at <= now:
        raise _refused("state_expired")
    if not browser or not hmac.compare_digest(row.browser_hash, digest(browser)):
        raise _refused("browser_mismatch")
    spent = SpentLogin(nonce=row.nonce, code_verifier=row.code_verifier)
    result = cast(
        CursorResult[Any],
        db.execute(
            update(OidcLoginRow)
            .where(col(OidcLoginRow.id) == row.id, col(OidcLoginRow.used_at).is_(None))
            .values(used_at=now, code_verifier="")
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise _refused("state_replayed")
    return spent
