"""The identity provider as our code sees it: its discovery document and its signing keys.

``OidcProvider(issuer)`` fetches ``<issuer>/.well-known/openid-configuration`` on first
use (nothing connects when it is built) and keeps it for a day. The provider's keys
(JWKS) are kept too, and fetched again when a token names a key id we do not know — the
provider has rotated its keys — but at most once per ``refetch_interval`` seconds, so a
stream of tokens with made-up key ids cannot make us hammer the provider.

``decode_jwt`` checks a token's signature against those keys, with asymmetric
algorithms only (never ``none``, never an HMAC key). Claims are checked by the callers:
``oidc_signin`` (ID tokens) and ``oidc_tokens`` (API access tokens).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from iba_workflow.errors import IbaError

SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
)
METADATA_MAX_AGE_SECONDS = 24 * 3600


class OidcError(IbaError):
    """Something about OpenID Connect failed. ``reason`` is a short code for logs
    (never a token, code or session id); ``message`` is the sentence for a person."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, reason=reason)
        self.reason = reason


class ProviderUnavailable(OidcError):
    """The identity provider did not answer, or answered something unusable."""


class TokenInvalid(OidcError):
    """A token's signature or claims do not hold. ``reason``: ``signature``,
    ``unknown_key``, ``malformed``, or the claim that failed (``aud``, ``exp``, …)."""


class OidcProvider:
    """Discovery document and key set of one issuer, cached; thread-safe."""

    def __init__(
        self,
        issuer: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        refetch_interval: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self._timeout = timeout
        self._transport = transport
        self._monotonic = monotonic
        self._refetch_interval = refetch_interval
        self._lock = threading.RLock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._last_forced_fetch: float | None = None
        self.jwks_fetches = 0  # how often the key set was fetched (for tests and operators)

    def http_client(self) -> httpx.Client:
        """A fresh client with our timeouts (and the test transport, if any)."""
        return httpx.Client(timeout=self._timeout, transport=self._transport)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            with self.http_client() as client:
                response = client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                "Identitetsudbyderen svarer ikke.",
                reason=f"{what}_unreachable:{type(exc).__name__}",
                hint="Prøv igen om lidt. Fortsætter det, så kontakt administratoren.",
            ) from exc
        if response.status_code != 200:
            raise ProviderUnavailable(
                "Identitetsudbyderen svarede med en fejl.",
                reason=f"{what}_status:{response.status_code}",
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(
                "Identitetsudbyderen svarede med noget uforståeligt.", reason=f"{what}_not_json"
            ) from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                "Identitetsudbyderen svarede med noget uforståeligt.", reason=f"{what}_not_object"
            )
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document; its ``issuer`` must be exactly ``IBA_OIDC_ISSUER``."""
        with self._lock:
            fresh = self._monotonic() - self._metadata_at < METADATA_MAX_AGE_SECONDS
            if self._metadata is not None and fresh:
                return self._metadata
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            body = self._get_json(url, "discovery")
            if body.get("issuer") != self.issuer:
                raise ProviderUnavailable(
                    "Log ind via identitetsudbyderen er ikke sat rigtigt op.",
                    reason="discovery_issuer_mismatch",
                    hint=f"IBA_OIDC_ISSUER must be exactly the provider's issuer "
                    f"({body.get('issuer')!r}).",
                )
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(body.get(field), str):
                    raise ProviderUnavailable(
                        "Identitetsudbyderens opsætning mangler noget.",
                        reason=f"discovery_missing:{field}",
                    )
            self._metadata, self._metadata_at = body, self._monotonic()
            return body

    def endpoint(self, name: str) -> str:
        value = self.metadata().get(name)
        if not isinstance(value, str):
            raise ProviderUnavailable(
                "Identitetsudbyderens opsætning mangler noget.", reason=f"discovery_missing:{name}"
            )
        return value

    def _fetch_keys(self) -> KeySet:
        body = self._get_json(self.endpoint("jwks_uri"), "jwks")
        try:
            keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable(
                "Identitetsudbyderens nøgler kunne ikke læses.", reason="jwks_invalid"
            ) from exc
        self.jwks_fetches += 1
        return keys

    def key_set(self) -> KeySet:
        self.metadata()
        with self._lock:
            if self._keys is None:
                self._keys = self._fetch_keys()
            return self._keys

    def key_set_for_unknown_kid(self) -> KeySet | None:
        """The key set fetched again (keys rotated), or ``None`` when the last forced
        fetch was less than ``refetch_interval`` seconds ago."""
        with self._lock:
            now = self._monotonic()
            last = self._last_forced_fetch
            if last is not None and now - last < self._refetch_interval:
                return None
            self._last_forced_fetch = now
            self._keys = self._fetch_keys()
            return self._keys

    def decode_jwt(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(header, claims)`` of a JWT whose signature one of the issuer's keys
        verifies. Claims are NOT checked here."""
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_384:
            raise TokenInvalid("Token er ikke en JWT.", reason="malformed")
        try:
            decoded = jwt.decode(token, self.key_set(), algorithms=list(SIGNING_ALGORITHMS))
        except InvalidKeyIdError as exc:
            keys = self.key_set_for_unknown_kid()
            if keys is None:
                raise TokenInvalid(
                    "Token er signeret med en ukendt nøgle.", reason="unknown_key"
                ) from exc
            try:
                decoded = jwt.decode(token, keys, algorithms=list(SIGNING_ALGORITHMS))
            except InvalidKeyIdError as again:
                raise TokenInvalid(
                    "Token er signeret med en ukendt nøgle.", reason="unknown_key"
                ) from again
            except (JoseError, ValueError) as again:
                raise TokenInvalid("Tokens signatur holder ikke.", reason="signature") from again
        except (JoseError, ValueError) as exc:
            raise TokenInvalid("Tokens signatur holder ikke.", reason="signature") from exc
        return dict(decoded.header), dict(decoded.claims)


_providers: dict[str, OidcProvider] = {}
_providers_lock = threading.Lock()


def provider_for(issuer: str) -> OidcProvider:
    """The one cached :class:`OidcProvider` of ``issuer`` in this process (built on first
    use; building it connects to nothing). Sign-in and API tokens share it."""
    with _providers_lock:
        found = _providers.get(issuer)
        if found is None:
            found = _providers[issuer] = OidcProvider(issuer)
        return found
