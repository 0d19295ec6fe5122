"""A small process supervisor (for ``iba up``): children in their own process groups,
health checks over HTTP, a watch that reports the first child to die, and a stop that
escalates SIGINT → SIGTERM → SIGKILL per group and checks that no process is left.

Why own process groups: a Ctrl-C in the terminal reaches only ``iba up``; it then stops
each child and everything the child started (uvicorn workers, Prefect flow-run
processes) by signalling the child's whole group, in reverse start order.

Nothing here imports Prefect or reads the wall clock (``time.monotonic`` only).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from iba_workflow.errors import IbaError


class SupervisorError(IbaError):
    """A supervised part could not start, or stopped on its own."""


class PortInUse(SupervisorError):
    """A port ``iba up`` needs is taken."""


@dataclass(frozen=True)
class PortNeed:
    """A port one part listens on, and how a user changes it."""

    port: int
    what: str  # "the task pages"
    option: str  # "--web-port"
    env: str  # "IBA_WEB_PORT"


def port_free(host: str, port: int) -> bool:
    """True if a server could listen on ``host:port`` now (as uvicorn does, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(host: str, needs: Sequence[PortNeed]) -> None:
    """Raise :class:`PortInUse` naming the first port that is taken (or given twice)."""
    seen: dict[int, PortNeed] = {}
    for need in needs:
        if need.port in seen:
            other = seen[need.port]
            raise PortInUse(
                f"port {need.port} is given both to {other.what} and to {need.what}",
                hint=f"give one of them another port with {need.option} (or {need.env})",
            )
        seen[need.port] = need
    for need in needs:
        if not port_free(host, need.port):
            raise PortInUse(
                f"port {need.port} on {host}, needed for {need.what}, is already in use",
                hint=f"stop what uses it, or choose another port with {need.option} "
                f"(or the environment variable {need.env})",
            )


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    """True if a GET of ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def http_json(url: str, *, timeout: float = 2.0) -> Any:
    """The JSON a GET of ``url`` answers with 200, else None."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return None


@dataclass
class Child:
    """One supervised process, the leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    health_url: str | None = None
    #: ready beyond its health URL (e.g. every trigger registered), asked once that answers
    ready: Callable[[], bool] | None = None

    def healthy(self) -> bool:
        if self.health_url is not None and not http_ok(self.health_url, timeout=1.0):
            return False
        return self.ready is None or self.ready()

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session: the leader's pid is the group id

    def alive(self) -> bool:
        return self.process.poll() is None

    def last_line(self) -> str:
        """The last non-empty line of the child's log (usually the reason it stopped)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(lines) if line.strip()), "")

    def died(self) -> SupervisorError:
        code = self.process.returncode
        last = self.last_line()
        return SupervisorError(
            f"{self.name} stopped unexpectedly (exit code {code})"
            + (f"; its last words: {last[:300]}" if last else ""),
            hint=f"its log is {self.log_path}",
        )


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    health_url: str | None = None,
    ready: Callable[[], bool] | None = None,
) -> Child:
    """Start ``argv`` in a new session (its own process group), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Child(name=name, process=process, log_path=log_path, health_url=health_url, ready=ready)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_child(child: Child, *, grace: float = 6.0, hurry: Iterator[bool] | None = None) -> None:
    """SIGINT to the child's group, then SIGTERM, then SIGKILL; reap the leader and wait
    until no process of the group is left (members may outlive their leader)."""
    steps = ((signal.SIGINT, grace), (signal.SIGTERM, grace / 2), (signal.SIGKILL, 5.0))
    for sig, wait in steps:
        if not group_alive(child.pgid) and not child.alive():
            break
        _signal_group(child.pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            child.process.poll()
            if not child.alive() and not group_alive(child.pgid):
                break
            if hurry is not None and next(hurry):
                break
            time.sleep(0.05)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(timeout=5)


@dataclass
class Supervisor:
    """Children started in order, watched together, stopped in reverse order."""

    children: list[Child] = field(default_factory=list)
    grace_seconds: float = 6.0
    _hurry: bool = False

    def add(self, child: Child) -> Child:
        self.children.append(child)
        return child

    def wait_healthy(self, children: Sequence[Child], *, timeout: float) -> None:
        """Until each child's health URL answers 200 and its ``ready`` check says yes; a
        child that dies first, or one not healthy in time, raises :class:`SupervisorError`."""
        deadline = time.monotonic() + timeout
        pending = [c for c in children if c.health_url or c.ready]
        while pending:
            for child in list(pending):
                if not child.alive():
                    raise child.died()
                if child.healthy():
                    pending.remove(child)
            if pending and time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise SupervisorError(
                    f"{names} did not become ready within {timeout:.0f} s",
                    hint="see the logs: " + ", ".join(str(c.log_path) for c in pending),
                )
            if pending:
                time.sleep(0.2)

    def watch(self, *, poll: float = 0.5) -> Child:
        """Block until some child exits on its own; return it."""
        while True:
            for child in self.children:
                if not child.alive():
                    return child
            time.sleep(poll)

    def stop(self) -> list[int]:
        """Stop every child, last started first. Returns the groups still alive (none,
        unless something ignored SIGKILL)."""
        with _hurry_on_signal(self):
            for child in reversed(self.children):
                stop_child(child, grace=self.grace_seconds, hurry=self._hurry_flags())
        return [c.pgid for c in self.children if group_alive(c.pgid)]

    def _hurry_flags(self) -> Iterator[bool]:
        while True:
            yield self._hurry


@contextlib.contextmanager
def _hurry_on_signal(supervisor: Supervisor) -> Iterator[None]:
    """While stopping, another Ctrl-C or SIGTERM skips the waiting (never the stop)."""

    def hurry(signum: int, frame: FrameType | None) -> None:
        supervisor._hurry = True

    old = {sig: signal.signal(sig, hurry) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGHUP) raise KeyboardInterrupt, so every way to stop is a Ctrl-C.

    SIGINT gets Python's handler even if it was ignored (a shell starts background jobs
    with SIGINT ignored, and an ignored signal stays ignored in every child), so that
    SIGINT stops ``iba up`` and each part it starts."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
