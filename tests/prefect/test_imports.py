"""Importing the orchestration helpers must not import Prefect (the CLI imports them)."""

from __future__ import annotations

import subprocess
import sys


def test_orchestration_modules_do_not_import_prefect() -> None:
    code = (
        "import sys, iba_workflow.orchestration.server, iba_workflow.orchestration.readback, "
        "iba_workflow.orchestration.serving; print('prefect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
