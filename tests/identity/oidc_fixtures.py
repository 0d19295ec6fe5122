"""Fixtures for the OpenID Connect tests, all real parts over real sockets:

- ``oidc_provider``: the npm package ``oidc-provider`` (v9) run by Node from
  ``tests/identity/oidc_provider/server.mjs`` on a free loopback port (``npm ci`` first
  when ``node_modules`` is missing). Without Node the tests are skipped locally and fail
  in CI (``CI`` set).
- ``key_server``: a tiny issuer of our own (discovery document, JWKS and a token endpoint
  that answers what the test sets, over HTTP) for tokens the test signs itself with a key
  it controls — for the negatives a standards-conformant provider will not produce
  (wrong ``aud``, expired, wrong ``nonce``).
- ``serve_app``: a web app served by uvicorn on a free port, its access log captured.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from dispatch.world import free_port
from joserfc import jwt
from joserfc.jwk import RSAKey

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
API_CLIENT = ("iba-api-client", "iba-api-client-secret")
API_RESOURCE = "urn:iba:api"
OTHER_RESOURCE = "urn:other:api"


def _tool(name: str) -> str:
    fallback = Path("/usr/bin") / name
    found = shutil.which(name) or (str(fallback) if fallback.exists() else None)
    if found is None:
        message = f"{name} (Node.js 20+) is not installed; the OIDC tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _npm_ci_once() -> None:
    """``npm ci`` into the provider's folder unless its modules are there; a file lock
    keeps parallel test workers from installing at the same time."""
    marker = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = _tool("npm")
    key = hashlib.sha256(str(PROVIDER_DIR).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"iba-oidc-npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROVIDER_DIR,
                check=True,
                timeout=600,
            )


@dataclass
class OidcTestProvider:
    issuer: str
    process: subprocess.Popen[str]

    def register_web_client(self, redirect_uri: str, *, public: bool = False) -> dict[str, Any]:
        """A new client by dynamic registration (RFC 7591): ``client_id`` and, unless
        ``public``, ``client_secret``."""
        body = {
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
        }
        answer = httpx.post(f"{self.issuer}/reg", json=body, timeout=10)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def client_credentials_token(
        self, *, scope: str = "visitations:write", resource: str = API_RESOURCE
    ) -> str:
        """A JWT access token (RFC 9068) for ``resource`` from the client-credentials grant."""
        answer = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": "client_credentials", "scope": scope, "resource": resource},
            auth=API_CLIENT,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        assert token.count(".") == 2, "the provider issued an opaque token, not a JWT"
        return str(token)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcTestProvider]:
    node = _tool("node")
    _npm_ci_once()
    port = free_port()
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [node, "server.mjs"],
            cwd=PROVIDER_DIR,
            env={**os.environ, "PORT": str(port)},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        _wait_for_line(process, "listening", log_path)
        issuer = f"http://127.0.0.1:{port}"
        found = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        assert found.status_code == 200 and found.json()["issuer"] == issuer
        yield OidcTestProvider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for_line(process: subprocess.Popen[str], needle: str, log_path: Path) -> None:
    """Block on the provider's stdout until it says it listens (or exits)."""
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = process.stdout.readline()
            if not line:
                break
            if needle in line:
                return
    raise RuntimeError(
        f"oidc-provider did not start (exit {process.poll()}): {log_path.read_text()[-2000:]}"
    )


@dataclass
class KeyServer:
    """An issuer we sign for: ``/.well-known/openid-configuration`` and ``/jwks`` served
    over HTTP on a free port; ``rotate()`` publishes a new key instead of the old one."""

    port: int = field(default_factory=free_port)
    keys: list[RSAKey] = field(default_factory=list)
    jwks_requests: int = 0
    token_response: dict[str, Any] = field(default_factory=dict)  # what POST /token answers
    token_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    userinfo: dict[str, Any] = field(default_factory=dict)  # what GET /userinfo answers
    userinfo_tokens: list[str] = field(default_factory=list)  # bearer tokens it was sent

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_key(self) -> RSAKey:
        kid = hashlib.sha256(os.urandom(8)).hexdigest()[:16]
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})

    def rotate(self) -> RSAKey:
        key = self.new_key()
        self.keys = [key]
        return key

    def sign(self, claims: dict[str, Any], *, key: RSAKey | None = None, alg: str = "RS256") -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key)

    def document(self, path: str) -> dict[str, Any] | None:
        if path == "/.well-known/openid-configuration":
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/auth",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        if path == "/userinfo":
            return self.userinfo
        if path == "/jwks":
            self.jwks_requests += 1
            return {"keys": [k.as_dict(private=False) for k in self.keys]}
        return None


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server_state = KeyServer()
    server_state.rotate()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/userinfo":
                server_state.userinfo_tokens.append(self.headers.get("Authorization", ""))
            body = server_state.document(self.path)
            payload = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            server_state.token_requests.append((self.path, form))
            payload = json.dumps(server_state.token_response).encode()
            self.send_response(200 if self.path == "/token" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", server_state.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()


class CapturedLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def serve_app(app: Any, port: int) -> Iterator[CapturedLog]:
    """``app`` on ``127.0.0.1:port`` (uvicorn with its access log on); yields every line
    uvicorn and our ``iba_workflow`` loggers wrote meanwhile."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", lifespan="off")
    server = uvicorn.Server(config)
    captured = CapturedLog()
    watched = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "iba_workflow")]
    old_level = watched[2].level
    watched[2].setLevel(logging.INFO)
    for logger in watched:
        logger.addHandler(captured)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:  # uvicorn offers no event to wait on
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield captured
    finally:
        server.should_exit = True
        thread.join(10)
        for logger in watched:
            logger.removeHandler(captured)
        watched[2].setLevel(old_level)
