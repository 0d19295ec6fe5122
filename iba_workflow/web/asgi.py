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


#: How long a worker process may take to answer uvicorn's health check (its default: 5 s).
#: A new worker answers only once it has imported what it needs (uvicorn starts it with
#: "spawn"); where Python cannot keep compiled modules (PYTHONDONTWRITEBYTECODE, as
#: container images often set, or a read-only install) on a busy machine, that took more
#: than 5 s, and uvicorn killed and restarted every worker, forever: ``iba web --workers
#: 2`` never answered. A running worker answers from its own thread within milliseconds,
#: and a worker that exits is replaced at once whatever this says.
WORKER_ANSWER_SECONDS = 60


def serve_workers(workers: int, **options: Any) -> None:
    """``uvicorn.run`` of :func:`application` in ``workers`` processes, on a TCP listener
    (see :class:`_TcpListenerConfig`), each given :data:`WORKER_ANSWER_SECONDS` to start."""
    from uvicorn.supervisors import Multiprocess

    options.setdefault("timeout_worker_healthcheck", WORKER_ANSWER_SECONDS)
    config = _TcpListenerConfig(
        "iba_workflow.web.asgi:application", factory=True, workers=workers, **options
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
