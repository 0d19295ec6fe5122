"""The web app as uvicorn's worker processes build it (``iba web --workers N``): each
process reads the settings from the environment and opens its own store engine."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI


def application() -> FastAPI:
    """A new app on the store the settings name (uvicorn calls it, ``factory=True``)."""
    from iba_workflow.clock import SystemClock
    from iba_workflow.settings import Settings
    from iba_workflow.store import engine_from_settings, session_factory

    from .app import create_app

    settings = Settings()
    return create_app(settings, session_factory(engine_from_settings(settings)), SystemClock())


class _TcpListenerConfig(uvicorn.Config):
    """uvicorn's configuration, its listening socket marked as TCP. uvicorn (0.54) binds
    the workers' socket with ``proto`` 0; accepted connections inherit it, and asyncio sets
    ``TCP_NODELAY`` only on sockets that say ``IPPROTO_TCP``, so Nagle's algorithm held
    back every response on a kept-alive connection until the client's delayed ACK: 40 ms
    more per page (bench/bench_http.py; uvicorn issue #3149)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def serve_workers(workers: int, **options: Any) -> None:
    """``uvicorn.run`` of :func:`application` in ``workers`` processes, on a TCP listener
    (see :class:`_TcpListenerConfig`)."""
    from uvicorn.supervisors import Multiprocess

    config = _TcpListenerConfig(
        "iba_workflow.web.asgi:application", factory=True, workers=workers, **options
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
