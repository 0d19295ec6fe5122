"""Staff sign-in through the municipality's identity provider: OpenID Connect,
authorization code with PKCE (S256), by Authlib's OAuth 2 client.

``OidcSignIn.start`` stores a new attempt (``oidc_state``) and returns the provider's
authorization URL; ``OidcSignIn.finish`` takes the callback's parameters and returns the
id of the staff member who signed in, or raises :class:`OidcError` with a Danish
sentence (``message``, ``hint``) and a ``reason`` code for the log. In ``finish``:

1. an ``error`` from the provider becomes a sentence (the attempt is spent);
2. ``iss`` in the callback, when the provider sends one (RFC 9207), must be ours;
3. the attempt is spent once (``state``, bound to the browser) and committed at once;
4. the code is exchanged at the token endpoint with the PKCE verifier (POST body only)
   and the client's secret (HTTP Basic) or, for a public client, none;
5. the ID token: signature by the provider's JWKS, ``iss``, ``aud`` (our client id),
   ``azp``, ``exp``, ``iat`` (not ahead, not older than an attempt lives; 60 s leeway),
   ``nonce`` (the attempt's), ``at_hash`` when present;
6. the staff claim (``IBA_OIDC_STAFF_CLAIM``, from the ID token, else from the userinfo
   endpoint for the same ``sub``) is matched case-insensitively to ``staff.email``;
   unknown, ambiguous or deactivated staff are refused.

No token, code, verifier or session id is ever logged; reasons are short codes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc.errors import ExpiredTokenError, InvalidClaimError, MissingClaimError
from sqlmodel import Session, select

from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.tables import StaffRow

from .oidc_discovery import (
    OidcError,
    OidcProvider,
    ProviderUnavailable,
    TokenInvalid,
    provider_for,
)
from .oidc_state import LOGIN_TTL, begin_login, spend_login

with warnings.catch_warnings():  # Authlib 1.9 prefers the httpx2 fork; httpx works as is
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

log = logging.getLogger("iba_workflow.identity.oidc")

START_PATH = "/log-ind/oidc"
CALLBACK_PATH = "/log-ind/oidc/callback"
LEEWAY_SECONDS = 60
ASK_ADMIN = "Bed administratoren om hjælp."
TRY_AGAIN = "Prøv igen. Sker det igen, så bed administratoren om hjælp."

PROVIDER_ERRORS = {
    "access_denied": "Log ind blev afbrudt, eller identitetsudbyderen gav ikke adgang.",
    "login_required": "Identitetsudbyderen vil have dig til at logge ind igen.",
    "interaction_required": "Identitetsudbyderen vil have dig til at logge ind igen.",
    "consent_required": "Identitetsudbyderen mangler dit samtykke til iba-workflow.",
    "account_selection_required": "Vælg en konto hos identitetsudbyderen.",
    "temporarily_unavailable": "Identitetsudbyderen har problemer lige nu.",
    "server_error": "Identitetsudbyderen har problemer lige nu.",
    "invalid_scope": "iba-workflow beder om noget, identitetsudbyderen ikke kender.",
    "unauthorized_client": "iba-workflow må ikke logge ind hos identitetsudbyderen.",
}


def _staff_refused(reason: str) -> OidcError:
    sentences = {
        "staff_claim_missing": (
            "Identitetsudbyderen fortalte ikke, hvem du er.",
            "Bed administratoren om at tjekke IBA_OIDC_STAFF_CLAIM.",
        ),
        "email_unverified": (
            "Din e-mailadresse er ikke bekræftet hos identitetsudbyderen.",
            ASK_ADMIN,
        ),
        "staff_unknown": (
            "Du er ikke oprettet som medarbejder i iba-workflow.",
            "Bed administratoren om at oprette dig.",
        ),
        "staff_ambiguous": ("Der er flere medarbejdere med din e-mailadresse.", ASK_ADMIN),
        "staff_inactive": (
            "Din adgang til iba-workflow er lukket.",
            "Bed administratoren om at åbne den igen.",
        ),
    }
    message, hint = sentences[reason]
    return OidcError(message, reason=reason, hint=hint)


class OidcSignIn:
    """Sign-in through one provider; built once per app, connects to nothing until used."""

    def __init__(self, settings: Settings, *, provider: OidcProvider | None = None) -> None:
        self.settings = settings
        self._provider = provider

    @property
    def enabled(self) -> bool:
        return bool(self.settings.oidc_issuer and self.settings.oidc_client_id)

    @property
    def button_label(self) -> str | None:
        """``Log ind med <IBA_OIDC_PROVIDER_NAME>`` for the sign-in page, when enabled."""
        return f"Log ind med {self.settings.oidc_provider_name}" if self.enabled else None

    @property
    def provider(self) -> OidcProvider:
        if self._provider is None:
            if not self.settings.oidc_issuer:
                raise OidcError("Log ind via identitetsudbyder er ikke slået til.", reason="off")
            self._provider = provider_for(self.settings.oidc_issuer)
        return self._provider

    @property
    def redirect_uri(self) -> str:
        return self.settings.base_url.rstrip("/") + CALLBACK_PATH

    def _client(self) -> OAuth2Client:
        secret = self.settings.oidc_client_secret
        return OAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=self.settings.oidc_scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )

    def start(
        self, db: Session, *, now: dt.datetime, other_account: bool = False
    ) -> tuple[str, str]:
        """``(authorization URL, browser-binding cookie value)``; the caller commits.
        ``other_account`` asks the provider to let the person sign in afresh
        (``prompt=login``) instead of reusing whoever is signed in there."""
        endpoint = self.provider.endpoint("authorization_endpoint")
        login = begin_login(db, now=now)
        extra = {"prompt": "login"} if other_account else {}
        with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint,
                state=login.state,
                code_verifier=login.code_verifier,
                nonce=login.nonce,
                **extra,
            )
        return url, login.browser

    def finish(
        self,
        session_factory: SessionFactory,
        *,
        params: Mapping[str, str],
        browser: str | None,
        now: dt.datetime,
    ) -> int:
        """The id of the staff member who signed in (see the module's steps)."""
        error = params.get("error")
        with session_factory() as db:
            try:
                spent = spend_login(db, state=params.get("state"), browser=browser, now=now)
            except OidcError:
                if error is None:
                    raise
                spent = None  # the provider's error says more than ours
            db.commit()
        if error is not None or spent is None:
            known = error if error and re.fullmatch(r"[a-z_]{1,40}", error) else "other"
            sentence = PROVIDER_ERRORS.get(known, "Identitetsudbyderen afviste log ind.")
            raise OidcError(sentence, reason=f"provider:{known}", hint=TRY_AGAIN)
        returned_iss = params.get("iss")
        if returned_iss is not None and returned_iss != self.provider.issuer:
            raise OidcError("Svaret kom fra en anden identitetsudbyder.", reason="iss_param")
        code = params.get("code")
        if not code:
            raise OidcError("Svaret fra identitetsudbyderen mangler en del.", reason="code_missing")
        token = self._exchange(code, spent.code_verifier)
        claims = self.validate_id_token(
            token.get("id_token"),
            nonce=spent.nonce,
            access_token=token.get("access_token"),
            now=now,
        )
        value = self._staff_claim(claims, token.get("access_token"))
        with session_factory() as db:
            return self._match_staff(db, value)

    def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        endpoint = self.provider.endpoint("token_endpoint")
        try:
            with self._client() as client:
                token = client.fetch_token(
                    endpoint, grant_type="authorization_code", code=code, code_verifier=verifier
                )
        except OAuthError as exc:
            name = exc.error if re.fullmatch(r"[a-z_]{1,40}", str(exc.error)) else "other"
            raise OidcError(
                "Identitetsudbyderen godtog ikke log ind-svaret.",
                reason=f"token_error:{name}",
                hint="Start forfra med knappen på log ind-siden.",
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                "Identitetsudbyderen svarer ikke.", reason=f"token_unreachable:{type(exc).__name__}"
            ) from exc
        return dict(token)

    def validate_id_token(
        self, id_token: Any, *, nonce: str, access_token: Any, now: dt.datetime
    ) -> dict[str, Any]:
        """The ID token's claims, when every check of step 5 holds; else
        :class:`TokenInvalid` whose ``reason`` names what failed."""
        if not isinstance(id_token, str):
            raise TokenInvalid("Identitetsudbyderen sendte intet ID-token.", reason="no_id_token")
        header, claims = self.provider.decode_jwt(id_token)
        client_id = self.settings.oidc_client_id
        checked = CodeIDToken(
            claims,
            header,  # type: ignore[arg-type]
            {
                "iss": {"essential": True, "value": self.provider.issuer},
                "aud": {"essential": True, "value": client_id},  # type: ignore[typeddict-item]
            },
            {
                "nonce": nonce,
                "client_id": client_id,
                "access_token": access_token if isinstance(access_token, str) else None,
            },
        )
        try:
            checked.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
        except ExpiredTokenError as exc:
            raise TokenInvalid("ID-tokenet er udløbet.", reason="exp") from exc
        except MissingClaimError as exc:
            raise TokenInvalid(
                "ID-tokenet mangler et krav.", reason=f"missing:{exc.claim}"
            ) from exc
        except InvalidClaimError as exc:
            raise TokenInvalid("ID-tokenet holder ikke.", reason=exc.claim) from exc
        oldest = now - LOGIN_TTL - dt.timedelta(seconds=LEEWAY_SECONDS)
        if claims["iat"] < oldest.timestamp():
            raise TokenInvalid("ID-tokenet er for gammelt.", reason="iat_old")
        return claims

    def _staff_claim(self, claims: dict[str, Any], access_token: Any) -> str:
        name = self.settings.oidc_staff_claim
        value = claims.get(name)
        if value is None and isinstance(access_token, str):
            value = self._userinfo(access_token, sub=claims["sub"]).get(name)
        if not isinstance(value, str) or not value.strip():
            raise _staff_refused("staff_claim_missing")
        if name == "email" and claims.get("email_verified") is False:
            raise _staff_refused("email_unverified")
        return value.strip()

    def _userinfo(self, access_token: str, *, sub: str) -> dict[str, Any]:
        endpoint = self.provider.metadata().get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        try:
            with self.provider.http_client() as http:
                response = http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}
        if not isinstance(body, dict) or body.get("sub") != sub:
            return {}
        return body

    def _match_staff(self, db: Session, value: str) -> int:
        """Compared in Python (``casefold``): SQLite's ``lower()`` folds ASCII only."""
        wanted = value.casefold()
        rows = [
            (staff_id, active)
            for staff_id, email, active in db.exec(
                select(StaffRow.id, StaffRow.email, StaffRow.active)
            ).all()
            if email.casefold() == wanted
        ]
        if not rows:
            raise _staff_refused("staff_unknown")
        if len(rows) > 1:
            raise _staff_refused("staff_ambiguous")
        [(staff_id, active)] = rows
        if not active or staff_id is None:
            raise _staff_refused("staff_inactive")
        return staff_id
