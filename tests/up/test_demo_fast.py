"""Issue 6: ``iba demo --fast`` plays a whole lifecycle of each of the five interventions in
simulated time, with the same engine and without servers. (How fast is for bench/, not
for a test: the timeout only stops a hang.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from iba_workflow.demo_fast import FAST_PLAN

ROOT = Path(__file__).resolve().parents[2]


def test_demo_fast_covers_all_five_interventions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IBA_", "PREFECT_"))}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "iba_workflow", "demo", "--fast"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert {d for d, _ in FAST_PLAN} == {
        "sunde_kvinder", "hop", "fagmentor", "de_internationale", "motion_sygemeldte",
    }  # fmt: skip
    sections = re.split(r"^─+ ", out, flags=re.MULTILINE)
    for definition_id, participants in FAST_PLAN:
        [section] = [s for s in sections if s.startswith(definition_id + " ")]
        assert re.search(rf"visitation: accepted \({definition_id} v\d+\)", section)
        assert "completed " in section and " mail" in section
        ended = re.search(r"(\d+) enrollments ended", section)
        assert ended and int(ended.group(1)) == participants, section[-300:]
    assert "5 interventions played" in out
    assert not (tmp_path / "data").exists(), "the fast demo must not touch a data directory"
