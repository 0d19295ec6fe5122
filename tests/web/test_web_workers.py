"""``iba web --workers N`` (issue 15): several server processes on one store. Clicks
posted at once to two processes complete each step once (the SQLite write gate holds
across processes), and the workers' listener turns Nagle's algorithm off, as the single
process's does (uvicorn's own left it on: 40 ms more per page on a kept-alive
connection)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
import uvicorn
from dispatch.world import World, free_port
from test_concurrent_clicks import click_at_once
from web_process import WebProcess

from iba_workflow.web.asgi import _TcpListenerConfig


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_two_worker_processes_complete_every_click_once(world: World, tmp_path: Path) -> None:
    web = WebProcess(world, tmp_path / "web.log", workers=2)
    try:
        web.wait_ready()
        assert len(_children(web.process.pid)) >= 2, "two worker processes"
        click_at_once(world, web.url)
    finally:
        web.stop()
    log = (tmp_path / "web.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "database is locked" not in log


async def _nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
    return value


def test_the_workers_listener_turns_nagle_off_on_every_connection() -> None:
    config = _TcpListenerConfig(
        "iba_workflow.web.asgi:application", factory=True, workers=2, port=free_port()
    )
    listener = config.bind_socket()
    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(_nodelay_of_an_accepted_connection(listener)) != 0
    # what uvicorn's own listener gives (its issue #3149), so this test shows the cause
    plain = uvicorn.Config("x:y", workers=2, port=free_port()).bind_socket()
    if plain.proto == socket.IPPROTO_TCP:  # pragma: no cover - fixed upstream
        plain.close()
        return
    assert asyncio.run(_nodelay_of_an_accepted_connection(plain)) == 0


# Run instead of ``python -m iba_workflow``: the same ``iba web``, but each worker process,
# as uvicorn's "spawn" starts it, first takes SLOW seconds (as importing from source did on
# a busy machine where Python may not keep compiled modules) before it can answer.
SLOW_WORKER_MAIN = """
import os, sys, time
if __name__ == "__mp_main__":  # a worker process, importing this script as spawn does
    time.sleep(float(os.environ["SLOW"]))
elif __name__ == "__main__":
    sys.argv[0] = "iba"
    from iba_workflow.cli import main
    main()
"""


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_workers_that_start_slowly_are_given_time_and_serve(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn killed a worker that did not answer its health check within 5 s and started
    another, which did not either: with slow starts ``iba web --workers 2`` never served."""
    main = tmp_path / "slow_iba.py"
    main.write_text(SLOW_WORKER_MAIN, encoding="utf-8")
    monkeypatch.setenv("SLOW", "6")
    web = WebProcess(world, tmp_path / "web.log", workers=2, main=main)
    try:
        web.wait_ready(45)
        assert httpx.get(f"{web.url}/healthz", timeout=10).status_code == 200
        assert len(_children(web.process.pid)) >= 2, "two worker processes"
    finally:
        web.stop()
    log = (tmp_path / "web.log").read_text(encoding="utf-8", errors="replace")
    # (the old supervisor killed each in turn and started it again, for as long as it ran;
    # where both took longer than 5 s, nothing ever answered)
    assert "died" not in log, "no worker was killed while it started"
