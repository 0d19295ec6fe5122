"""Fixtures for the web tests: the world of the dispatcher tests, and the web app served
by uvicorn on a free port (a real socket)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from dispatch.world import SmtpServer, World, free_port, make_world
from identity_helpers import make_api_key

from iba_workflow.web import create_app

MONDAY = dt.date(2027, 3, 1)


class WebServer:
    def __init__(self, world: World) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        world.settings.base_url = self.url  # links in mails point here
        app = create_app(world.settings, world.open_session, world.clock)
        self.api_key = make_api_key(world)
        self.api_headers = {"Authorization": f"Bearer {self.api_key}"}
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(free_port()) as server:
        yield server


@pytest.fixture
def world(store_url: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[World]:
    w = make_world(store_url, tmp_path, smtp_port=smtp.port, day=MONDAY)
    yield w
    w.engine.dispose()


@pytest.fixture
def web_server() -> type[WebServer]:
    """The server class, for a test that starts the app on a world it changed."""
    return WebServer


@pytest.fixture
def web(world: World) -> Iterator[WebServer]:
    with WebServer(world) as server:
        yield server


Site = Callable[..., tuple[World, WebServer]]


@pytest.fixture
def site(store_url: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[Site]:
    """``site(name, day)``: a world for definition ``name`` on ``day`` and its web app
    (for tests that need another definition than HOP; one site per test)."""
    opened: list[tuple[World, WebServer]] = []

    def make(name: str, day: dt.date = MONDAY) -> tuple[World, WebServer]:
        w = make_world(store_url, tmp_path, smtp_port=smtp.port, name=name, day=day)
        server = WebServer(w).__enter__()
        opened.append((w, server))
        return w, server

    yield make
    for w, server in opened:
        server.__exit__(None, None, None)
        w.engine.dispose()
