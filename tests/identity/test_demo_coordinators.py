"""The demo staff of ``iba up``: each municipality's coordinator coordinates all its
interventions, so signing in as her shows them; loading twice changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from iba_workflow import paths
from iba_workflow.clock import SystemClock
from iba_workflow.demo_staff import demo_coordinator, load_demo_staff
from iba_workflow.engine import EngineContext, calendars_from
from iba_workflow.orchestration.runtime import load_definitions


def test_demo_coordinators_coordinate_their_municipalitys_interventions(open_session: Any) -> None:
    definitions = load_definitions()
    ctx = EngineContext(clock=SystemClock(), calendars=calendars_from(paths.calendars_dir()))
    assert load_demo_staff(open_session, ctx, definitions) > 0
    assert load_demo_staff(open_session, ctx, definitions) == 0
    with open_session() as s:
        rows = s.execute(
            text(
                "SELECT s.email, c.definition_id FROM staff_coordinates c "
                "JOIN staff s ON s.id = c.staff_id ORDER BY s.email, c.definition_id"
            )
        ).all()
    assert demo_coordinator(definitions, "hedensted") == "iba.hedensted@example.org"
    assert demo_coordinator(definitions, "rebild") == "jobkonsulent.rebild@example.org"
    assert [tuple(r) for r in rows] == [
        ("iba.hedensted@example.org", "de_internationale"),
        ("iba.hedensted@example.org", "fagmentor"),
        ("iba.hedensted@example.org", "hop"),
        ("iba.hedensted@example.org", "sunde_kvinder"),
        ("jobkonsulent.rebild@example.org", "motion_sygemeldte"),
    ]
