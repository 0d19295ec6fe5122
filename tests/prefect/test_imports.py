"""Importing the orchestration modules or the CLI must not import Prefect (the CLI
imports them; only the commands that need Prefect import it, inside the command)."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "iba_workflow.orchestration.server",
    "iba_workflow.orchestration.readback",
    "iba_workflow.orchestration.serving",
    "iba_workflow.orchestration.compiler",
    "iba_workflow.orchestration.intake",
    "iba_workflow.orchestration.runtime",
    "iba_workflow.orchestration.doors",
    "iba_workflow.orchestration.ticks",
    "iba_workflow.cli.app",
]


def test_orchestration_modules_do_not_import_prefect() -> None:
    code = f"import sys, {', '.join(MODULES)}; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
