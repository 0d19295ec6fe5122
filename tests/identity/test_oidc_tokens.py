"""JWT access tokens for the API (issue 10, point 4): client-credentials tokens from the
real provider (oidc-provider under Node) are accepted with their scopes and refused for
another audience, after expiry, or with a forged signature.

Where a test signs its own token, it does so with a key it controls, published by
``key_server``: a real issuer's discovery document and JWKS over HTTP on a loopback
port, not a mock. That is how the cases a conformant provider will not produce (an
ID token as access token, a key rotation) are reached.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from oidc_fixtures import OTHER_RESOURCE, KeyServer, OidcTestProvider

from iba_workflow.identity.oidc_discovery import OidcProvider, TokenInvalid
from iba_workflow.identity.oidc_tokens import AccessTokenRefused, verify_access_token
from iba_workflow.settings import Settings

AUDIENCE = "urn:iba:api"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # the provider signs with the real time


def _settings(tmp_path: Path, issuer: str, **more: Any) -> Settings:
    return Settings(data_dir=tmp_path, oidc_issuer=issuer, api_audience=AUDIENCE, **more)


def test_client_credentials_token_is_accepted_with_its_scope(
    oidc_provider: OidcTestProvider, tmp_path: Path
) -> None:
    token = oidc_provider.client_credentials_token(scope="visitations:write")
    principal = verify_access_token(
        token, settings=_settings(tmp_path, oidc_provider.issuer), now=_now()
    )
    assert principal.kind == "jwt"
    assert principal.subject == "iba-api-client"
    assert principal.scopes == frozenset({"visitations:write"})


def test_token_without_an_api_scope_carries_none(
    oidc_provider: OidcTestProvider, tmp_path: Path
) -> None:
    token = oidc_provider.client_credentials_token(scope="reports:read")
    principal = verify_access_token(
        token, settings=_settings(tmp_path, oidc_provider.issuer), now=_now()
    )
    assert principal.scopes == frozenset(), "scopes the API does not know are dropped"


def test_token_for_another_api_is_refused(oidc_provider: OidcTestProvider, tmp_path: Path) -> None:
    token = oidc_provider.client_credentials_token(resource=OTHER_RESOURCE)
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(token, settings=_settings(tmp_path, oidc_provider.issuer), now=_now())
    assert refused.value.reason == "aud"
    assert "another API" in refused.value.message


def test_expired_token_is_refused(oidc_provider: OidcTestProvider, tmp_path: Path) -> None:
    token = oidc_provider.client_credentials_token()
    settings = _settings(tmp_path, oidc_provider.issuer)
    verify_access_token(token, settings=settings, now=_now())  # fine now …
    later = _now() + dt.timedelta(seconds=300 + 61)  # … its 300 s and our 60 s leeway later
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(token, settings=settings, now=later)
    assert refused.value.reason == "exp"


def test_token_from_another_issuer_is_refused(
    oidc_provider: OidcTestProvider, key_server: KeyServer, tmp_path: Path
) -> None:
    """Signed by a key the configured issuer does not publish (ours, with the provider's
    ``iss`` written in): the signature check fails."""
    now = int(_now().timestamp())
    claims = {"iss": oidc_provider.issuer, "aud": AUDIENCE, "exp": now + 300, "iat": now}
    forged = key_server.sign(claims | {"client_id": "x", "scope": "visitations:write"})
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(forged, settings=_settings(tmp_path, oidc_provider.issuer), now=_now())
    assert refused.value.reason in {"unknown_key", "signature"}


def _claims(issuer: str, **more: Any) -> dict[str, Any]:
    now = int(_now().timestamp())
    return {"iss": issuer, "aud": AUDIENCE, "exp": now + 300, "iat": now, "azp": "app-1"} | more


def test_entra_style_application_roles_count_as_scopes(
    key_server: KeyServer, tmp_path: Path
) -> None:
    """Microsoft Entra ID puts application permissions into ``roles`` and the client into
    ``azp``; unknown roles are dropped."""
    token = key_server.sign(_claims(key_server.issuer, roles=["visitations:write", "Admin"]))
    principal = verify_access_token(
        token, settings=_settings(tmp_path, key_server.issuer), now=_now()
    )
    assert principal.subject == "app-1"
    assert principal.scopes == frozenset({"visitations:write"})


def test_id_token_is_not_an_access_token(key_server: KeyServer, tmp_path: Path) -> None:
    token = key_server.sign(_claims(key_server.issuer, nonce="n", scp="visitations:write"))
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(token, settings=_settings(tmp_path, key_server.issuer), now=_now())
    assert refused.value.reason == "id_token"


def test_missing_audience_and_symmetric_algorithm_are_refused(
    key_server: KeyServer, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, key_server.issuer)
    no_aud = _claims(key_server.issuer)
    del no_aud["aud"]
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(key_server.sign(no_aud), settings=settings, now=_now())
    assert refused.value.reason == "missing:aud"
    # an HS256 token "signed" with the public key's bytes (the classic confusion attack),
    # made by hand: joserfc itself refuses to use a public key as an HMAC secret
    public = key_server.keys[0].as_pem(private=False)
    header = {"alg": "HS256", "kid": key_server.keys[0].kid, "typ": "JWT"}
    signing_input = f"{_b64(header)}.{_b64(_claims(key_server.issuer))}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(forged, settings=settings, now=_now())
    assert refused.value.reason == "signature"


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_audience_equal_to_the_sign_in_client_is_refused(
    key_server: KeyServer, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, key_server.issuer, oidc_client_id=AUDIENCE)
    token = key_server.sign(_claims(key_server.issuer, scp="visitations:write"))
    with pytest.raises(AccessTokenRefused) as refused:
        verify_access_token(token, settings=settings, now=_now())
    assert refused.value.reason == "audience_is_sign_in_client"


def test_keys_are_fetched_again_when_the_provider_rotates_them(key_server: KeyServer) -> None:
    """Rotation: a token under a new ``kid`` makes us fetch the JWKS again, once; a flood
    of unknown ``kid``s within the refetch interval fetches nothing more."""
    ticks = [1000.0]
    provider = OidcProvider(key_server.issuer, monotonic=lambda: ticks[0], refetch_interval=10)
    provider.decode_jwt(key_server.sign(_claims(key_server.issuer)))
    assert key_server.jwks_requests == 1
    provider.decode_jwt(key_server.sign(_claims(key_server.issuer)))
    assert key_server.jwks_requests == 1, "the key set is cached"

    key_server.rotate()
    _header, claims = provider.decode_jwt(key_server.sign(_claims(key_server.issuer)))
    assert claims["azp"] == "app-1"
    assert key_server.jwks_requests == 2

    stranger = key_server.new_key()  # never published
    with pytest.raises(TokenInvalid) as refused:
        provider.decode_jwt(key_server.sign(_claims(key_server.issuer), key=stranger))
    assert refused.value.reason == "unknown_key"
    assert key_server.jwks_requests == 2, "refetch throttled within the interval"
    ticks[0] += 11
    with pytest.raises(TokenInvalid):
        provider.decode_jwt(key_server.sign(_claims(key_server.issuer), key=stranger))
    assert key_server.jwks_requests == 3


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://login.microsoftonline.com/tenant/v2.0", True),
        ("http://127.0.0.1:9000", True),
        ("http://idp.kommune.dk", False),
        ("ftp://idp.kommune.dk", False),
    ],
)
def test_issuer_must_be_https_unless_on_this_machine(
    tmp_path: Path, issuer: str, accepted: bool
) -> None:
    from pydantic import ValidationError

    if accepted:
        assert Settings(data_dir=tmp_path, oidc_issuer=issuer).oidc_issuer == issuer
    else:
        with pytest.raises(ValidationError, match="must be an https URL"):
            Settings(data_dir=tmp_path, oidc_issuer=issuer)
