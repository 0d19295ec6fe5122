"""Each ``iba`` command imports only what it needs: the test suite and people start the CLI
many times, and importing the store, the web app or Prefect costs about a second each start.

One subprocess runs the commands one after another (each imports a superset of the one
before) and, after each, names the heavy modules it must not have imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from iba_workflow import paths

# Neither a definition command nor --help opens the store, serves, mails or solves.
SERVING = [
    "prefect",
    "fastapi",
    "uvicorn",
    "starlette",
    "aiosmtplib",
    "aiosmtpd",
    "authlib",
    "ortools",
    "iba_workflow.web",
    "iba_workflow.orchestration",
]
STORE = [
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "jinja2",
    "cryptography",
    "joserfc",
    "httpx",
    "iba_workflow.store",
    "iba_workflow.engine",
    "iba_workflow.identity",
    "iba_workflow.mail",
]
# --help only lists the commands: not even the definition model or the calendars.
HELP_ONLY = [
    "pydantic",
    "holidays",
    "icalendar",
    "asyncio",
    "iba_workflow.settings",
    "iba_workflow.definition",
    "iba_workflow.planning",
    "iba_workflow.calendar",
]

REPORT_JSON = ["report", "--intervention", "hop", "--from", "2027-01-01", "--to", "2027-12-31"]
REPORT_JSON += ["--format", "json"]
STEPS = [
    (["--help"], 0, SERVING + STORE + HELP_ONLY),
    (["validate", "definitions/motion_sygemeldte.yaml"], 0, SERVING + STORE),
    (["plan", "hop", "--start", "2027-03-01"], 0, [*SERVING, *STORE, "icalendar"]),
    # a store command (the database has no tables: it stops there, after its imports);
    # the store's tables include the OIDC login row, but not the OIDC client (httpx, JOSE)
    (["status"], 1, [*SERVING, "httpx", "joserfc"]),
    # a report as data draws nothing: no matplotlib, no PDF engine (a second each)
    (REPORT_JSON, 1, [*SERVING, "matplotlib", "weasyprint"]),
]

SCRIPT = """
import json, sys
from iba_workflow.cli import main

steps = json.loads(sys.argv[1])
found = []
for argv, _code, banned in steps:
    sys.argv = ["iba", *argv]
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code or 0
    loaded = [m for m in banned if m in sys.modules]
    found.append({"argv": argv, "code": code, "loaded": loaded})
print(json.dumps(found))
"""


def test_commands_import_only_what_they_need(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "IBA_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(STEPS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=paths.PROJECT_ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    for (argv, code, _banned), result in zip(STEPS, results, strict=True):
        assert result["code"] == code, (argv, done.stderr)
        assert result["loaded"] == [], f"iba {' '.join(argv)} imported {result['loaded']}"
    assert "the database has no tables yet" in done.stderr
