"""``iba web`` in its own process (``python -m iba_workflow web``), for the tests that
need the real command: its access log, its worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from dispatch.world import World, free_port

from iba_workflow import paths


class WebProcess:
    """``python -m iba_workflow web`` in its own process, stdout and stderr to a file."""

    def __init__(
        self, world: World, log_path: Path, *, workers: int = 1, main: Path | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IBA_", "PREFECT_API"))}
        secret = world.settings.secret_key
        assert secret is not None
        env.update(
            IBA_DATABASE_URL=world.store_url,
            IBA_DATA_DIR=str(world.settings.data_dir),
            IBA_SECRET_KEY=secret.get_secret_value(),
            IBA_BASE_URL=self.url,
            IBA_SMTP_PORT=str(world.settings.smtp_port),
            PYTHONPATH=str(paths.PROJECT_ROOT),
            PYTHONUNBUFFERED="1",
        )
        self.log = log_path.open("wb")
        # ``main``: a script run instead of ``python -m iba_workflow`` (it runs ``iba``)
        start = [str(main)] if main else ["-m", "iba_workflow"]
        command = [sys.executable, *start, "web", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            cwd=paths.PROJECT_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "iba web exited"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)  # polling a starting process, not waiting for a result
        raise AssertionError("iba web did not answer /healthz")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()
