"""The whole stack for the end-to-end Prefect tests: a store (SQLite file), a real aiosmtpd
server in this process, and ``iba serve`` as a child process against the session's
Prefect server."""

from __future__ import annotations

import asyncio
import email
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iba_workflow.orchestration.server import PrefectServer, wait_group_gone
from iba_workflow.orchestration.serving import start_serve_process, stop_serve_process

REPO = Path(__file__).resolve().parents[2]


def _mail_fixtures() -> Any:
    """tests/mail/conftest.py: its RecordingHandler and free_port (reused, not copied)."""
    spec = importlib.util.spec_from_file_location(
        "iba_mail_fixtures", REPO / "tests" / "mail" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


MAIL = _mail_fixtures()
free_port = MAIL.free_port


@dataclass
class SlowHandler(MAIL.RecordingHandler):  # type: ignore[misc, name-defined]
    """Records every accepted message; ``delay`` seconds before each 250 reply."""

    delay: float = 0.0
    refuse_next: int = 0  # answer this many RCPTs with a transient 451

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    def message_ids(self) -> list[str]:
        return [str(email.message_from_bytes(r.data)["Message-ID"]) for r in list(self.received)]


@dataclass
class Serving:
    """``iba serve`` child processes (several may run at once)."""

    env: dict[str, str]
    logdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.processes)
        process = start_serve_process(
            [sys.executable, "-m", "iba_workflow", "serve"],
            env=self.env,
            cwd=REPO,
            log_path=self.logdir / f"serve{n}.log",
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole group: serve and the flow-run processes it started."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert wait_group_gone(process.pid), "a flow-run process outlived SIGKILL of its group"

    def stop_all(self) -> list[int | None]:
        codes = []
        for process in self.processes:
            if process.poll() is None:
                codes.append(stop_serve_process(process))
                assert wait_group_gone(process.pid), "a serve process outlived its stop"
        return codes

    def log(self, n: int = -1) -> str:
        logs = sorted(self.logdir.glob("serve*.log"))
        return logs[n].read_text(errors="replace")[-4000:] if logs else ""


def serve_env(
    server: PrefectServer, *, database_url: str, data_dir: Path, smtp_port: int
) -> dict[str, str]:
    env = server.client_env()
    env.update(
        {
            "IBA_DATABASE_URL": database_url,
            "IBA_DATA_DIR": str(data_dir),
            "IBA_SMTP_HOST": "127.0.0.1",
            "IBA_SMTP_PORT": str(smtp_port),
            "IBA_DISPATCH_INTERVAL_SECONDS": "3600",  # tests pull ticks forward
            "IBA_DISPATCH_BATCH_SIZE": "10",
            # one mail per notification at any hour (the real clock runs these tests);
            # the digest and quiet hours are tested in tests/dispatch/test_notify_*.py
            "IBA_NOTIFY_DEFAULT": "immediate",
            "IBA_NOTIFY_BUNDLE": "false",
            "IBA_NOTIFY_QUIET_HOURS": "false",
            "IBA_DISPATCH_LEASE_SECONDS": "6",
            "IBA_MAIL_RETRY_BASE_SECONDS": "0.5",  # the outbox's retry policy, fast
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def wait_until(predicate: Any, *, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(poll)
