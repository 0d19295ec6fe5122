"""The supervisor behind ``iba up``: a taken port is a sentence naming the option; a child
that dies is reported with its exit code and last log line; stopping escalates to SIGKILL
for a child that ignores SIGINT and SIGTERM, and takes its grandchildren with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iba_workflow.orchestration.server import free_port
from iba_workflow.supervisor import (
    PortInUse,
    PortNeed,
    Supervisor,
    check_ports,
    group_alive,
    spawn,
)

STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # a grandchild
print("ready", flush=True)
time.sleep(120)
"""


def test_taken_port_names_the_option() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        need = PortNeed(port, "the task pages (web app)", "--web-port", "IBA_WEB_PORT")
        with pytest.raises(PortInUse) as caught:
            check_ports("127.0.0.1", [need])
    assert f"port {port}" in caught.value.message and "in use" in caught.value.message
    assert "--web-port" in (caught.value.hint or "") and "IBA_WEB_PORT" in (caught.value.hint or "")
    twice = [need, PortNeed(port, "the mailbox page", "--mailbox-port", "IBA_MAILBOX_PORT")]
    with pytest.raises(PortInUse, match="given both"):
        check_ports("127.0.0.1", twice)


def test_iba_up_on_a_taken_port_is_a_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IBA_", "PREFECT_"))}
        argv = [
            sys.executable, "-m", "iba_workflow", "up", "--data-dir", str(tmp_path / "data"),
            "--web-port", str(port), "--prefect-port", str(free_port()),
            "--mailbox-port", str(free_port()), "--smtp-port", str(free_port()),
        ]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"error: port {port} on 127.0.0.1, needed for the task pages" in done.stderr
    assert "--web-port" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_dead_child_is_reported_and_stubborn_one_is_killed(tmp_path: Path) -> None:
    supervisor = Supervisor(grace_seconds=1.0)
    stubborn = supervisor.add(
        spawn("stubborn", [sys.executable, "-c", STUBBORN], env=dict(os.environ),
              cwd=tmp_path, log_path=tmp_path / "stubborn.log")
    )  # fmt: skip
    crash = "import sys; print('cannot bind the port'); sys.exit(3)"
    supervisor.add(
        spawn("the web app", [sys.executable, "-c", crash], env=dict(os.environ),
              cwd=tmp_path, log_path=tmp_path / "web.log")
    )  # fmt: skip
    try:
        dead = supervisor.watch(poll=0.05)
        error = dead.died()
        assert dead.name == "the web app"
        assert "the web app stopped unexpectedly (exit code 3)" in error.message
        assert "cannot bind the port" in error.message and "web.log" in (error.hint or "")
        deadline = time.monotonic() + 10
        while "ready" not in (tmp_path / "stubborn.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        left = supervisor.stop()
    assert left == []
    assert not group_alive(stubborn.pgid), "the grandchild outlived the stop"
    # killed after the grace period, not waited for until its own exit after 120 s
    assert stubborn.process.returncode == -signal.SIGKILL


def test_a_child_is_ready_only_when_its_own_check_says_so(tmp_path: Path) -> None:
    """``iba up`` waits for ``iba serve``'s triggers, not only for its first deployment:
    a child's ``ready`` check is asked until it says yes, and one that never does is a
    sentence naming the child and its log."""
    from iba_workflow.supervisor import SupervisorError

    supervisor = Supervisor(grace_seconds=1.0)
    asked: list[int] = []

    def third_time() -> bool:
        asked.append(1)
        return len(asked) >= 3

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    try:
        late = supervisor.add(
            spawn("the runner", sleeper, env=dict(os.environ), cwd=tmp_path,
                  log_path=tmp_path / "r.log", ready=third_time)
        )  # fmt: skip
        supervisor.wait_healthy([late], timeout=30)
        assert len(asked) == 3
        never = supervisor.add(
            spawn("the triggers", sleeper, env=dict(os.environ), cwd=tmp_path,
                  log_path=tmp_path / "t.log", ready=lambda: False)
        )  # fmt: skip
        with pytest.raises(SupervisorError) as refused:
            supervisor.wait_healthy([never], timeout=0.5)
        assert "the triggers did not become ready" in refused.value.message
        assert "t.log" in (refused.value.hint or "")
    finally:
        assert supervisor.stop() == []
