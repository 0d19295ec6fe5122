"""OAuth 2 access tokens for the API: JWTs from the identity provider (client credentials).

A machine that calls ``/api/*`` gets a token from the municipality's identity provider
(the client-credentials grant) and sends it as ``Authorization: Bearer <jwt>``.
:func:`verify_access_token` accepts it only when

- one of the issuer's keys (JWKS, cached, fetched again for an unknown ``kid``) verifies
  its signature, with an asymmetric algorithm;
- ``iss`` is exactly ``IBA_OIDC_ISSUER`` and ``aud`` holds ``IBA_API_AUDIENCE``;
- ``exp`` lies ahead and ``iat``/``nbf`` not ahead (60 s leeway for clocks);
- it is not an ID token (no ``nonce``);

and returns the ``bearer.Principal`` (kind ``jwt``): the client and the API scopes it
holds, read from ``scope`` (RFC 9068, a space-separated string), ``scp`` (Entra ID, delegated
permissions) or ``roles`` (Entra ID application permissions, what the client-credentials
grant gives). Scopes the API does not know are dropped; whether the scopes suffice for a
route is the policy's question (403), not this module's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from joserfc.errors import ExpiredTokenError, InvalidClaimError, MissingClaimError
from joserfc.jwt import JWTClaimsRegistry

from iba_workflow.settings import Settings

from .bearer import Principal
from .oidc_discovery import OidcError, TokenInvalid, provider_for
from .policy import KNOWN_SCOPES

LEEWAY_SECONDS = 60
API_SCOPES = KNOWN_SCOPES  # the scopes the policy knows (visitations:write, …)


class AccessTokenRefused(OidcError):
    """The bearer token is not a valid access token for this API (answer: 401)."""


def granted_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """The API scopes in ``scope``/``scp`` (strings or lists) and ``roles`` (a list)."""
    found: set[str] = set()
    for name in ("scope", "scp", "roles"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return frozenset(found & API_SCOPES)


def check_claims(
    claims: dict[str, Any], *, issuer: str, audience: str, now: dt.datetime, leeway: int
) -> None:
    """``iss``, ``aud``, ``exp`` required and right, ``iat``/``nbf`` not in the future.
    Raises :class:`TokenInvalid` with the failing claim as ``reason``."""
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise TokenInvalid("Token er udløbet.", reason="exp") from exc
    except MissingClaimError as exc:
        raise TokenInvalid("Token mangler et krav.", reason=f"missing:{exc.claim}") from exc
    except InvalidClaimError as exc:
        raise TokenInvalid("Token holder ikke.", reason=exc.claim) from exc


_API_SENTENCES = {
    "malformed": "the access token is not a JWT",
    "signature": "the access token's signature does not verify with the issuer's keys",
    "unknown_key": "the access token is signed with a key the issuer does not publish",
    "iss": "the access token comes from another issuer (iss)",
    "aud": "the access token is meant for another API (aud is not IBA_API_AUDIENCE)",
    "exp": "the access token has expired",
    "iat": "the access token claims to be issued in the future (iat)",
    "nbf": "the access token is not valid yet (nbf)",
    "id_token": "an ID token is not an access token",
    "no_client": "the access token names no client (client_id, azp, appid or sub)",
}


def _api_sentence(reason: str) -> str:
    if reason.startswith("missing:"):
        return f"the access token lacks the claim {reason.removeprefix('missing:')}"
    if reason in _API_SENTENCES:
        return _API_SENTENCES[reason]
    if "unreachable" in reason or "status" in reason:
        return "the identity provider could not be reached to check the access token"
    return f"the access token was refused ({reason})"


def verify_access_token(token: str, *, settings: Settings, now: dt.datetime) -> Principal:
    """The :class:`Principal` of a valid access token; else :class:`AccessTokenRefused`
    (``reason``: ``not_configured``, ``signature``, ``unknown_key``, ``aud``, ``exp``, …).
    Network only when the issuer's discovery document or keys are not cached yet."""
    issuer, audience = settings.oidc_issuer, settings.api_audience
    if not issuer or not audience:
        raise AccessTokenRefused(
            "JWT access tokens are not enabled on this server",
            reason="not_configured",
            hint="Set IBA_OIDC_ISSUER and IBA_API_AUDIENCE, or use an API key.",
        )
    if audience == settings.oidc_client_id:
        raise AccessTokenRefused(
            "IBA_API_AUDIENCE equals the sign-in client's id (IBA_OIDC_CLIENT_ID)",
            reason="audience_is_sign_in_client",
            hint="Register the API as its own application and use its id as "
            "IBA_API_AUDIENCE, so a user's ID token can never pass as an access token.",
        )
    try:
        _header, claims = provider_for(issuer).decode_jwt(token)
        check_claims(claims, issuer=issuer, audience=audience, now=now, leeway=LEEWAY_SECONDS)
    except OidcError as exc:
        raise AccessTokenRefused(_api_sentence(exc.reason), reason=exc.reason) from exc
    if "nonce" in claims:
        raise AccessTokenRefused(_api_sentence("id_token"), reason="id_token")
    client = next(
        (
            claims[name]
            for name in ("client_id", "azp", "appid", "sub")
            if isinstance(claims.get(name), str) and claims[name]
        ),
        None,
    )
    if client is None:
        raise AccessTokenRefused(_api_sentence("no_client"), reason="no_client")
    return Principal("jwt", client, granted_scopes(claims))
