"""``iba demo`` ends by saying where to sign in to the workspace and as whom (the
municipality's demo coordinator), after the table of enrolments and the places to look."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from iba_workflow.cli.demo_cmd import _print_summary
from iba_workflow.demo_staff import demo_coordinator
from iba_workflow.orchestration.runtime import load_definitions


def test_the_demo_ends_with_where_to_sign_in_and_as_whom(capsys: Any) -> None:
    who = demo_coordinator(load_definitions(), "hedensted")
    assert who == "iba.hedensted@example.org"
    urls = SimpleNamespace(
        web="http://127.0.0.1:8000",
        mailbox="http://127.0.0.1:8025",
        prefect_ui="http://127.0.0.1:4200",
    )
    _print_summary(urls, [], {"name": "dispatcher-run"}, {"state_type": "COMPLETED"}, 7,
                   attached=False, sign_in=who)  # fmt: skip
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert "Sign in at http://127.0.0.1:8000/log-ind as the demo IBA" in lines[-3]
    assert who in lines[-3]
    assert "sign-in link arrives in the mailbox" in lines[-2]
    assert "Min uge" in lines[-2] and "Hold in the menu" in lines[-1]
