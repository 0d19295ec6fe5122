"""The mail budget: how many mails each person gets per ISO week, by kind, when a mix of
interventions runs through the real dispatcher into a local aiosmtpd. Run on demand:
``python bench/bench_mail_budget.py [scenario ...]`` (default: hop caseload).

Prints one JSON line per (scenario, person, week, kind) and, per scenario, a JSON summary
line per person and a one-line summary for the IBA. No timings are asserted; the run's
seconds are reported for the record.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from iba_workflow import paths
from iba_workflow.budget import SCENARIOS, run_scenario
from iba_workflow.definition import load_definition
from iba_workflow.engine import calendars_from
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory, upgrade

IBA = "iba@hedensted.sim.invalid"


def main(names: list[str]) -> None:
    for name in names or ["hop", "caseload"]:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'budget.sqlite3'}")
            upgrade(engine)
            started = time.perf_counter()
            budget = run_scenario(
                SCENARIOS[name],
                open_session=session_factory(engine),
                calendars=calendars_from(paths.calendars_dir()),
                definition=lambda i: load_definition(
                    paths.definitions_dir() / f"{i}.yaml", known_templates=paths.known_templates()
                ),
                settings=Settings(data_dir=Path(tmp), secret_key=SecretStr("b" * 32)),
            )
            seconds = time.perf_counter() - started
            engine.dispose()
        for line in budget.lines():
            print(json.dumps(line, ensure_ascii=False))
        for person in budget.people():
            weeks = budget.per_week(person)
            others = budget.per_week(person, exclude=("digest",))
            print(
                json.dumps(
                    {
                        "scenario": name,
                        "person": person,
                        "total": budget.total(person),
                        "worst_week": max(weeks.values()),
                        "worst_week_without_digests": max(others.values(), default=0),
                        "digest_days": len(budget.per_day(person, "digest")),
                    }
                )
            )
        weeks = budget.per_week(IBA)
        others = budget.per_week(IBA, exclude=("digest",))
        print(
            f"{name}: the IBA gets {budget.total(IBA)} mails "
            f"({budget.total(IBA, 'digest')} morning digests, at most one a working day), "
            f"worst week {max(weeks.values())}, at most {max(others.values(), default=0)} "
            f"other mails in a week; {seconds:.0f} s"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
