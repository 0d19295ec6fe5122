"""The OIDC routes over real HTTP (uvicorn on a free port): the button appears only when
configured; a provider that does not answer, a callback without state, or an error from
the provider is a Danish page, never a traceback; the start route binds the attempt to
the browser with a tight cookie and is rate-limited per client address.

The issuer here is ``key_server`` (a real discovery document and JWKS over HTTP), or a
closed port for "the provider does not answer"."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dispatch.world import free_port
from oidc_fixtures import KeyServer, serve_app

from iba_workflow.clock import FixedClock
from iba_workflow.identity.oidc_routes import START_LIMIT_PER_MINUTE
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.web import create_app

NOW = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)
Serve = Callable[..., Any]


@pytest.fixture
def serve(sqlite_template: Path, tmp_path: Path) -> Iterator[Serve]:
    """``serve(**settings)``: our app with these settings, as a context manager yielding
    ``(base URL, captured log)``."""
    store = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, store)
    engine = make_engine(f"sqlite:///{store}")

    def make(**more: Any) -> Any:
        port = free_port()
        settings = Settings(
            data_dir=tmp_path, base_url=f"http://127.0.0.1:{port}", secret_key="k" * 43, **more
        )
        app = create_app(settings, session_factory(engine), FixedClock(NOW))
        return _Served(app, port)

    yield make
    engine.dispose()


class _Served:
    def __init__(self, app: Any, port: int) -> None:
        self.app, self.port = app, port

    def __enter__(self) -> tuple[httpx.Client, Any]:
        self._ctx = serve_app(self.app, self.port)
        log = self._ctx.__enter__()
        self._client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=20)
        return self._client, log

    def __exit__(self, *exc: object) -> None:
        self._client.close()
        self._ctx.__exit__(*exc)


def _danish_page(answer: httpx.Response, status: int, sentence: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert sentence in answer.text
    assert "Traceback" not in answer.text and "Exception" not in answer.text


def test_without_configuration_there_is_no_button_and_no_route(serve: Serve) -> None:
    with serve() as (client, _log):
        assert "Log ind med" not in client.get("/log-ind").text
        _danish_page(client.get("/log-ind/oidc"), 404, "ikke slået til")


def test_provider_that_does_not_answer_is_a_danish_page(serve: Serve) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with serve(oidc_issuer=dead, oidc_client_id="iba", oidc_provider_name="Kommunen") as (
        client,
        log,
    ):
        assert "Log ind med Kommunen" in client.get("/log-ind").text
        _danish_page(client.get("/log-ind/oidc"), 503, "Identitetsudbyderen svarer ikke.")
    assert any("could not start: discovery_unreachable" in line for line in log.lines)


def test_bad_callbacks_are_danish_pages(serve: Serve, key_server: KeyServer) -> None:
    with serve(oidc_issuer=key_server.issuer, oidc_client_id="iba") as (client, log):
        callback = "/log-ind/oidc/callback"
        _danish_page(client.get(callback), 400, "Svaret fra identitetsudbyderen mangler en del.")
        _danish_page(client.get(callback, params={"state": "x", "code": "y"}), 400, "kendes ikke")
        denied = client.get(callback, params={"error": "access_denied", "state": "x"})
        _danish_page(denied, 400, "Log ind blev afbrudt")
        odd = client.get(callback, params={"error": "<b>hej</b>", "error_description": "klik her"})
        _danish_page(odd, 400, "Identitetsudbyderen afviste log ind.")
        assert "<b>hej</b>" not in odd.text and "klik her" not in odd.text
    assert "oidc sign-in refused: provider:other" in log.lines


def test_start_binds_the_attempt_to_the_browser_and_is_rate_limited(
    serve: Serve, key_server: KeyServer
) -> None:
    with serve(oidc_issuer=key_server.issuer, oidc_client_id="iba") as (client, _log):
        first = client.get("/log-ind/oidc")
        assert first.status_code == 303
        location = urlsplit(first.headers["location"])
        assert (
            f"{location.scheme}://{location.netloc}{location.path}" == f"{key_server.issuer}/auth"
        )
        query = parse_qs(location.query)
        assert query["code_challenge_method"] == ["S256"] and "code_verifier" not in query
        assert query["scope"] == ["openid email profile"] and query["response_type"] == ["code"]
        cookie = first.headers["set-cookie"]
        assert cookie.startswith("iba_oidc=")
        for flag in ("HttpOnly", "Max-Age=600", "Path=/log-ind/oidc", "SameSite=lax"):
            assert flag in cookie, cookie
        for _ in range(START_LIMIT_PER_MINUTE - 1):
            assert client.get("/log-ind/oidc").status_code == 303
        _danish_page(client.get("/log-ind/oidc"), 429, "for mange log ind-forsøg")
