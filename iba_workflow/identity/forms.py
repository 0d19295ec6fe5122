"""CSRF for the identity forms, on the task pages' signed tokens (``links.csrf``).

- The sign-in form and the sign-in link's button: bound to a pre-session cookie
  (random, HttpOnly, SameSite=Lax), so another site cannot post them for a visitor
  (a cross-site POST does not carry a Lax cookie), and to the link where there is one.
- Forms of a signed-in person: bound to the session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from fastapi import Request, Response

from iba_workflow.links.csrf import check_csrf_token, make_csrf_token
from iba_workflow.settings import Settings

from .sessions import SignedIn, is_secure


def pre_cookie_name(settings: Settings) -> str:
    return "__Host-iba_signin" if is_secure(settings) else "iba_signin"


def pre_cookie(request: Request, settings: Settings) -> str | None:
    value = request.cookies.get(pre_cookie_name(settings))
    return value if value and 20 <= len(value) <= 64 else None


def pre_cookie_value(request: Request, settings: Settings) -> str:
    """The visitor's pre-session cookie value, or a new one (set it with
    :func:`set_pre_cookie`)."""
    return pre_cookie(request, settings) or secrets.token_urlsafe(24)


def set_pre_cookie(response: Response, value: str, settings: Settings) -> None:
    response.set_cookie(
        pre_cookie_name(settings),
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(settings),
        max_age=12 * 3600,
    )


def _binding(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def sign_in_csrf(secret: str, cookie: str, now: dt.datetime, *, token_hash: str = "") -> str:
    return make_csrf_token(
        secret=secret, token_hash=_binding("signin", cookie, token_hash), now=now
    )


def check_sign_in_csrf(
    secret: str, posted: str, cookie: str | None, now: dt.datetime, *, token_hash: str = ""
) -> bool:
    if not cookie or not posted:
        return False
    binding = _binding("signin", cookie, token_hash)
    return check_csrf_token(posted, secret=secret, token_hash=binding, now=now)


def session_csrf(secret: str, signed_in: SignedIn, now: dt.datetime) -> str:
    return make_csrf_token(
        secret=secret, token_hash=_binding("session", signed_in.sid_hash), now=now
    )


def check_session_csrf(secret: str, posted: str, signed_in: SignedIn, now: dt.datetime) -> bool:
    if not posted:
        return False
    binding = _binding("session", signed_in.sid_hash)
    return check_csrf_token(posted, secret=secret, token_hash=binding, now=now)
