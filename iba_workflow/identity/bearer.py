"""Bearer credentials on ``/api/*``: API keys (ours, recognised by their prefix) and
JWT access tokens (client credentials from the identity provider, checked by
``identity.oidc_tokens.verify_access_token``).

Answers say what is missing, as JSON with a ``WWW-Authenticate`` header (RFC 6750):
401 without a usable credential, 403 when its scopes are too few, 429 above the rate
(``IBA_API_LIMIT_PER_MINUTE`` per key; in process, see ``ratelimit``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlmodel import select

from iba_workflow.store.identity import ApiKeyRow

from .context import IdentityContext, identity_of
from .policy import Actor

API_KEY_PREFIX = "ibak_"
_API_KEY = re.compile(r"^ibak_[A-Za-z0-9_-]{43}$")
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
REALM = 'Bearer realm="iba-workflow"'


class ApiAuthError(Exception):
    """An API request refused before it reached its handler (401, 403, 429)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        hint: str,
        error: str | None = None,
        scope: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint
        self.error, self.scope, self.retry_after = error, scope, retry_after

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message, "hint": self.hint}
        if self.scope:
            out["required_scope"] = self.scope
        return out

    def headers(self) -> dict[str, str]:
        if self.status == 429:
            return {"Retry-After": str(self.retry_after or 1)}
        challenge = REALM
        if self.error:
            challenge += f', error="{self.error}"'
        if self.scope:
            challenge += f', scope="{self.scope}"'
        return {"WWW-Authenticate": challenge}


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii", errors="replace")).hexdigest()


def looks_like_api_key(value: str) -> bool:
    return bool(_API_KEY.match(value))


def looks_like_jwt(value: str) -> bool:
    return bool(_JWT.match(value)) and len(value) < 16_384


def insufficient_scope(scope: str) -> ApiAuthError:
    return ApiAuthError(
        403,
        f"the credential lacks the scope {scope}",
        hint=f"create a key with: iba apikey create --scope {scope}",
        error="insufficient_scope",
        scope=scope,
    )


@dataclass(frozen=True)
class Principal:
    """A checked bearer credential."""

    kind: str  # apikey / jwt
    subject: str  # key id, or the token's client
    scopes: frozenset[str]

    def actor(self) -> Actor:
        return Actor(kind="api", label=f"{self.kind}:{self.subject}", scopes=self.scopes)


def _presented(request: Request, scope: str) -> str:
    header = request.headers.get("authorization", "")
    if not header:
        raise ApiAuthError(
            401,
            "this API needs a bearer credential (Authorization: Bearer …)",
            hint=f"create an API key: iba apikey create --scope {scope}",
            scope=scope,
        )
    method, _, value = header.partition(" ")
    if method.lower() != "bearer" or not value.strip():
        raise ApiAuthError(
            401,
            "the Authorization header must be 'Bearer <credential>'",
            hint="send the API key or access token after 'Bearer '",
            error="invalid_request",
        )
    return value.strip()


def _check_api_key(ident: IdentityContext, key: str, now: dt.datetime) -> Principal:
    with ident.session_factory() as db:
        row = db.exec(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_api_key(key))).first()
        if row is None or row.revoked_at is not None:
            raise ApiAuthError(
                401,
                "the API key is unknown or revoked",
                hint="see iba apikey list; create a new one with iba apikey create",
                error="invalid_token",
            )
        row.last_used_at = now
        db.add(row)
        db.commit()
        return Principal("apikey", str(row.id), frozenset(row.scopes))


def _check_jwt(ident: IdentityContext, token: str, now: dt.datetime) -> Principal:
    settings = ident.settings
    no_issuer = ApiAuthError(
        401,
        "JWT access tokens need IBA_OIDC_ISSUER (no identity provider is configured)",
        hint="configure IBA_OIDC_ISSUER, or use an API key (iba apikey create)",
        error="invalid_token",
    )
    if not getattr(settings, "oidc_issuer", None):
        raise no_issuer
    try:
        module = importlib.import_module("iba_workflow.identity.oidc_tokens")
    except ImportError:
        raise no_issuer from None
    try:
        verified = module.verify_access_token(token, settings=settings, now=now)
    except Exception as exc:  # any refusal: say why, never with the token
        message = getattr(exc, "message", None) or "the access token was refused"
        raise ApiAuthError(
            401, str(message), hint="get a new access token", error="invalid_token"
        ) from None
    return _principal_from_token(verified)


def _principal_from_token(verified: Any) -> Principal:
    """What ``verify_access_token`` returned: a Principal, an object with ``scopes`` and
    ``subject``, or the claims (``scope`` as a string or ``scp`` as a list)."""
    if isinstance(verified, Principal):
        return verified
    if isinstance(verified, dict):
        raw: Iterable[str] | str = verified.get("scp") or verified.get("scope") or ""
        subject = str(verified.get("client_id") or verified.get("azp") or verified.get("sub"))
    else:
        raw = getattr(verified, "scopes", ()) or ()
        subject = str(getattr(verified, "subject", None) or getattr(verified, "sub", "?"))
    scopes = raw.split() if isinstance(raw, str) else list(raw)
    return Principal("jwt", subject, frozenset(scopes))


def authenticate(request: Request, *, scope: str) -> Principal:
    """The checked credential of an API request, or :class:`ApiAuthError` (401/429)."""
    ident = identity_of(request)
    now = ident.clock.now()
    value = _presented(request, scope)
    if looks_like_api_key(value):
        principal = _check_api_key(ident, value, now)
    elif looks_like_jwt(value):
        principal = _check_jwt(ident, value, now)
    else:
        raise ApiAuthError(
            401,
            "the credential is neither an API key nor a JWT access token",
            hint=f"API keys start with {API_KEY_PREFIX}; create one with iba apikey create",
            error="invalid_token",
        )
    verdict = ident.limiter.hit(
        f"api:{principal.kind}:{principal.subject}",
        limit=ident.settings.api_limit_per_minute,
        window=dt.timedelta(minutes=1),
        now=now,
    )
    if not verdict.allowed:
        raise ApiAuthError(
            429,
            "too many requests with this credential",
            hint=f"wait {verdict.retry_after_seconds} s (limit IBA_API_LIMIT_PER_MINUTE)",
            retry_after=verdict.retry_after_seconds,
        )
    return principal


def api_actor(request: Request, *, needed_scope: str) -> Actor:
    return authenticate(request, scope=needed_scope).actor()
