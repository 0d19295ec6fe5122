"""OpenID Connect sign-in below the browser (issue 10, point 1a): the attempt is used once
and only by the browser that started it; an ID token with a wrong ``aud``, expired, with
another attempt's ``nonce``, from another issuer or signed by a stranger is refused; the
PKCE verifier travels only in the token request's body; staff are matched by e-mail.

The ID tokens here are signed by the test with a key it controls, and reach the code the
way a provider's would: ``key_server`` is a real issuer over HTTP (discovery document,
JWKS, a token endpoint answering what the test sets) on a loopback port — not a mock.
The full flow against the real provider, in Chromium, is in ``test_oidc_browser``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from oidc_fixtures import KeyServer
from sqlmodel import Session, select

from iba_workflow.identity.oidc_discovery import OidcError, OidcProvider, TokenInvalid
from iba_workflow.identity.oidc_signin import OidcSignIn
from iba_workflow.identity.oidc_state import OidcLoginRow, begin_login, spend_login
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store.tables import StaffRow

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CLIENT = "iba-web"


def _staff(store: Any, email: str, *, active: bool = True) -> int:
    with store() as db:
        row = StaffRow(
            name="Test", email=email, roles=["iba"], municipality="hedensted",
            active=active, created_at=NOW,
        )  # fmt: skip
        db.add(row)
        db.commit()
        assert row.id is not None
        return row.id


def _sign_in(key_server: KeyServer, tmp_path: Path, **more: Any) -> OidcSignIn:
    settings = Settings(
        data_dir=tmp_path,
        base_url="http://127.0.0.1:8000",
        oidc_issuer=key_server.issuer,
        oidc_client_id=CLIENT,
        oidc_client_secret="s3cret",
        **more,
    )
    return OidcSignIn(settings, provider=OidcProvider(key_server.issuer))


def _start(sign_in: OidcSignIn, store: Any) -> tuple[dict[str, str], str]:
    """Begin an attempt: the authorization URL's parameters and the browser cookie."""
    with store() as db:
        url, browser = sign_in.start(db, now=NOW)
        db.commit()
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return query, browser


def _id_token(key_server: KeyServer, nonce: str, more: dict[str, Any] | None = None) -> str:
    now = int(NOW.timestamp())
    claims = {
        "iss": key_server.issuer, "sub": "user-1", "aud": CLIENT, "exp": now + 300,
        "iat": now, "nonce": nonce, "email": "IBA.Hedensted@Example.org",
    }  # fmt: skip
    return key_server.sign({k: v for k, v in (claims | (more or {})).items() if v is not None})


def _answer(key_server: KeyServer, id_token: str) -> None:
    key_server.token_response = {
        "access_token": "at-123", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
    }  # fmt: skip


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """A migrated SQLite store: the flow tests need one backend; the single-use race
    below runs on SQLite and PostgreSQL."""
    target = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, target)
    engine = make_engine(f"sqlite:///{target}")
    yield session_factory(engine)
    engine.dispose()


def test_sign_in_matches_staff_by_email_and_keeps_the_verifier_off_urls(
    key_server: KeyServer, store: Any, tmp_path: Path
) -> None:
    staff_id = _staff(store, "iba.hedensted@example.org")
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://127.0.0.1:8000/log-ind/oidc/callback"
    assert "code_verifier" not in query
    _answer(key_server, _id_token(key_server, query["nonce"]))

    found = sign_in.finish(
        store, params={"code": "c-1", "state": query["state"]}, browser=browser, now=NOW
    )
    assert found == staff_id
    [(path, form)] = key_server.token_requests
    assert path == "/token", "nothing in the token request's URL"
    verifier = form["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == query["code_challenge"]
    assert form["code"] == "c-1" and form["grant_type"] == "authorization_code"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-else"}, "aud"),
        ({"exp": int(NOW.timestamp()) - 61, "iat": int(NOW.timestamp()) - 400}, "exp"),
        ({"nonce": "the-nonce-of-another-attempt"}, "nonce"),
        ({"iss": "https://evil.example.org"}, "iss"),
        ({"iat": int(NOW.timestamp()) + 120}, "iat"),
        ({"iat": int(NOW.timestamp()) - 3600, "exp": int(NOW.timestamp()) + 60}, "iat_old"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp"),
    ],
    ids=["wrong-aud", "expired", "wrong-nonce", "wrong-iss", "iat-future", "iat-old", "azp"],
)
def test_bad_id_tokens_are_refused(
    key_server: KeyServer,
    store: Any,
    tmp_path: Path,
    claims: dict[str, Any],
    reason: str,
) -> None:
    _staff(store, "iba.hedensted@example.org")
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    _answer(key_server, _id_token(key_server, query["nonce"], claims))
    with pytest.raises(TokenInvalid) as refused:
        sign_in.finish(
            store, params={"code": "c", "state": query["state"]}, browser=browser, now=NOW
        )
    assert refused.value.reason == reason


def test_replayed_id_token_is_refused_by_its_nonce(
    key_server: KeyServer, store: Any, tmp_path: Path
) -> None:
    """An ID token that signed someone in once, answered again to a new attempt."""
    _staff(store, "iba.hedensted@example.org")
    sign_in = _sign_in(key_server, tmp_path)
    first, browser = _start(sign_in, store)
    token = _id_token(key_server, first["nonce"])
    _answer(key_server, token)
    sign_in.finish(store, params={"code": "c", "state": first["state"]}, browser=browser, now=NOW)
    second, browser2 = _start(sign_in, store)
    with pytest.raises(TokenInvalid) as refused:
        sign_in.finish(
            store, params={"code": "c", "state": second["state"]}, browser=browser2, now=NOW
        )
    assert refused.value.reason == "nonce"


def test_callback_from_another_issuer_is_refused_before_any_exchange(
    key_server: KeyServer, store: Any, tmp_path: Path
) -> None:
    """RFC 9207: an ``iss`` in the callback that is not ours (a mix-up attack) stops the
    sign-in before the code is sent anywhere."""
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    params = {"code": "c", "state": query["state"], "iss": "https://evil.example.org"}
    with pytest.raises(OidcError) as refused:
        sign_in.finish(store, params=params, browser=browser, now=NOW)
    assert refused.value.reason == "iss_param"
    assert key_server.token_requests == []


def test_signature_by_a_stranger_is_refused(
    key_server: KeyServer, store: Any, tmp_path: Path
) -> None:
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    now = int(NOW.timestamp())
    claims = {"iss": key_server.issuer, "sub": "u", "aud": CLIENT, "exp": now + 300, "iat": now}
    _answer(
        key_server, key_server.sign(claims | {"nonce": query["nonce"]}, key=key_server.new_key())
    )
    with pytest.raises(TokenInvalid) as refused:
        sign_in.finish(
            store, params={"code": "c", "state": query["state"]}, browser=browser, now=NOW
        )
    assert refused.value.reason == "unknown_key"


@pytest.mark.parametrize(
    ("claims", "active", "reason"),
    [
        ({"email": "nobody@example.org"}, True, "staff_unknown"),
        ({}, False, "staff_inactive"),
        ({"email_verified": False}, True, "email_unverified"),
    ],
)
def test_unknown_deactivated_or_unverified_staff_are_refused(
    key_server: KeyServer,
    store: Any,
    tmp_path: Path,
    claims: dict[str, Any],
    active: bool,
    reason: str,
) -> None:
    _staff(store, "iba.hedensted@example.org", active=active)
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    _answer(key_server, _id_token(key_server, query["nonce"], claims))
    with pytest.raises(OidcError) as refused:
        sign_in.finish(
            store, params={"code": "c", "state": query["state"]}, browser=browser, now=NOW
        )
    assert refused.value.reason == reason
    assert "administratoren" in (refused.value.hint or "")


def test_configured_claim_is_matched(key_server: KeyServer, store: Any, tmp_path: Path) -> None:
    """Entra ID without the optional ``email`` claim: ``preferred_username`` (the UPN)."""
    staff_id = _staff(store, "iba.hedensted@example.org")
    sign_in = _sign_in(key_server, tmp_path, oidc_staff_claim="preferred_username")
    query, browser = _start(sign_in, store)
    upn = {"email": None, "preferred_username": "Iba.Hedensted@example.org"}
    token = _id_token(key_server, query["nonce"], upn)
    _answer(key_server, token)
    found = sign_in.finish(
        store, params={"code": "c", "state": query["state"]}, browser=browser, now=NOW
    )
    assert found == staff_id


@pytest.mark.parametrize(("userinfo_sub", "signed_in"), [("user-1", True), ("user-2", False)])
def test_claim_missing_from_the_id_token_is_read_from_userinfo_for_the_same_sub(
    key_server: KeyServer, store: Any, tmp_path: Path, userinfo_sub: str, signed_in: bool
) -> None:
    """A provider that keeps ``email`` out of the ID token (OIDC Core's default for
    scope claims): the userinfo endpoint is asked with the access token, and its answer
    counts only for the ID token's ``sub``."""
    staff_id = _staff(store, "iba.hedensted@example.org")
    key_server.userinfo = {"sub": userinfo_sub, "email": "iba.hedensted@example.org"}
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    _answer(key_server, _id_token(key_server, query["nonce"], {"email": None}))
    params = {"code": "c", "state": query["state"]}
    if signed_in:
        assert sign_in.finish(store, params=params, browser=browser, now=NOW) == staff_id
    else:
        with pytest.raises(OidcError) as refused:
            sign_in.finish(store, params=params, browser=browser, now=NOW)
        assert refused.value.reason == "staff_claim_missing"
    assert key_server.userinfo_tokens == ["Bearer at-123"]


def test_provider_error_becomes_a_danish_sentence_and_spends_the_attempt(
    key_server: KeyServer, store: Any, tmp_path: Path
) -> None:
    sign_in = _sign_in(key_server, tmp_path)
    query, browser = _start(sign_in, store)
    params = {"error": "access_denied", "state": query["state"]}
    with pytest.raises(OidcError) as refused:
        sign_in.finish(store, params=params, browser=browser, now=NOW)
    assert refused.value.reason == "provider:access_denied"
    assert refused.value.message.startswith("Log ind blev afbrudt")
    with store() as db, pytest.raises(OidcError) as again:
        spend_login(db, state=query["state"], browser=browser, now=NOW)
    assert again.value.reason == "state_replayed"


def _begin(store: Any) -> tuple[str, str]:
    with store() as db:
        login = begin_login(db, now=NOW)
        db.commit()
    return login.state, login.browser


def test_state_is_single_use_bound_to_the_browser_and_short_lived(store: Any) -> None:
    state, browser = _begin(store)

    def spend(db: Session, **overrides: Any) -> str:
        args: dict[str, Any] = {"state": state, "browser": browser, "now": NOW} | overrides
        try:
            spend_login(db, **args)
        except OidcError as exc:
            return exc.reason
        return "ok"

    with store() as db:
        assert spend(db, browser="another-browser") == "browser_mismatch"
        assert spend(db, state="made-up") == "state_unknown"
        assert spend(db, state=None) == "state_missing"
        assert spend(db, now=NOW + dt.timedelta(minutes=11)) == "state_expired"
        assert spend(db) == "ok"
        db.commit()
    with store() as db:
        assert spend(db) == "state_replayed"


def test_attempts_older_than_a_day_are_forgotten(store: Any) -> None:
    with store() as db:
        begin_login(db, now=NOW)
        db.commit()
    with store() as db:
        begin_login(db, now=NOW + dt.timedelta(days=2))
        db.commit()
        rows = db.exec(select(OidcLoginRow)).all()
    assert [r.created_at for r in rows] == [NOW + dt.timedelta(days=2)]


def test_state_is_spent_once_under_concurrent_callbacks(open_session: Any) -> None:
    """Twenty callbacks with the same state at once: exactly one goes on (SQLite and
    PostgreSQL)."""
    state, browser = _begin(open_session)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def callback() -> None:
        barrier.wait()
        with open_session() as db:
            try:
                spend_login(db, state=state, browser=browser, now=NOW)
                db.commit()
                results.append("ok")
            except OidcError as exc:
                db.rollback()
                results.append(exc.reason)

    threads = [threading.Thread(target=callback) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count("ok") == 1
    assert set(results) == {"ok", "state_replayed"}
