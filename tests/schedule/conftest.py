"""A real CalDAV server for the schedule tests: Radicale (pinned in the test extra) on a
free loopback port, its storage in a temporary folder, no authentication (any user name,
owner-only rights). Started once per module and stopped with its process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from radicale_server import CalDavServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _radicale(folder: Path, auth: list[str], password: str = "x") -> Iterator[CalDavServer]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--storage-filesystem-folder",
            str(folder / "collections"),
            *auth,
            "--rights-type",
            "owner_only",
            "--logging-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # until it answers; between tries we wait on the process itself
            try:
                httpx.get(base + "/.web/", timeout=1.0)
                break
            except httpx.TransportError:
                pass
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    pytest.fail("radicale did not answer within 30 s")
                continue
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"radicale exited with {proc.returncode}: {err[-500:]}")
        yield CalDavServer(base, password=password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def caldav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalDavServer]:
    """No authentication: any user name, any password."""
    yield from _radicale(tmp_path_factory.mktemp("radicale"), ["--auth-type", "none"])


@pytest.fixture(scope="module")
def caldav_server_htpasswd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalDavServer]:
    """htpasswd authentication: user ``iba`` with a password."""
    folder = tmp_path_factory.mktemp("radicale-auth")
    (folder / "users").write_text("iba:hemmeligt-kodeord\n", encoding="utf-8")
    yield from _radicale(
        folder,
        [
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(folder / "users"),
            "--auth-htpasswd-encryption",
            "plain",
        ],
        password="hemmeligt-kodeord",
    )
