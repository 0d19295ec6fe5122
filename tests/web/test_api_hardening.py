"""Holes found by probing the running web app, each closed: over real HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from dispatch.world import World, answers
from sqlmodel import select

from iba_workflow.store import tables as t

HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


def visitation(world: World, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "definition_id": "hop",
        "citizen_ref": world.citizen_ref,
        "accept": True,
        "start": "2027-03-08",
        "answers": answers(world.definition),
    }
    return {**body, **changes}


def assert_json_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.text
    assert "<html" not in r.text.lower()
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, f"{name} missing on {r.request.url.path}"
    body: dict[str, Any] = r.json()
    return body


def test_a_far_date_is_a_json_422_not_a_500_page(world: World, web: Any) -> None:
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, start="9999-12-31"),
        headers=web.api_headers,
    )
    body = assert_json_error(r, 422)
    assert "start 9999-12-31 lies outside" in body["error"] and "days ahead" in body["hint"]
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, start="2000-01-01"),
        headers=web.api_headers,
    )
    assert "lies outside" in assert_json_error(r, 422)["error"]


def test_an_unknown_definition_names_no_server_path(world: World, web: Any) -> None:
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, definition_id="nope"),
        headers=web.api_headers,
    )
    body = assert_json_error(r, 422)
    assert body["error"] == "no definition 'nope'" and "hop" in body["hint"]
    assert "/" not in r.text and "definitions" not in body["error"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("citizen_ref", "0101901234", "citizen_ref looks like a CPR number"),
        ("citizen_ref", "B-010190-1234", "citizen_ref looks like a CPR number"),
        ("citizen_ref", "ref0101901234x", "citizen_ref looks like a CPR number"),
    ],
)
def test_a_cpr_shaped_reference_is_refused_with_a_hint(
    world: World, web: Any, field: str, value: str, says: str
) -> None:
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, **{field: value}),
        headers=web.api_headers,
    )
    body = assert_json_error(r, 422)
    [problem] = body["problems"]
    assert problem["field"] == field and says in problem["message"]
    assert "reference" in problem["message"]  # the hint


def test_cpr_in_a_reject_reason_is_refused(world: World, web: Any) -> None:
    body = visitation(world, accept=False, reject_reason="ring 010190-1234 først")
    body.pop("start")
    problem = assert_json_error(
        httpx.post(f"{web.url}/api/visitations", json=body, headers=web.api_headers), 422
    )
    assert "reject_reason contains a number" in problem["problems"][0]["message"]


def test_every_criterion_must_be_answered(world: World, web: Any) -> None:
    partial = dict(list(answers(world.definition).items())[:1])
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, answers=partial),
        headers=web.api_headers,
    )
    body = assert_json_error(r, 422)
    missing = [c.id for c in world.definition.eligibility][1:]
    assert f"not answered: {', '.join(missing)}" in body["error"]
    with world.session() as s:
        assert s.exec(select(t.VisitationRow)).all() == []


def test_free_text_stays_on_its_row_and_out_of_the_audit(world: World, web: Any) -> None:
    reason = "Kanarie-grund: ønsker først sprogskole"
    body = visitation(world, accept=False, reject_reason=reason, answers={})
    body.pop("start")
    r = httpx.post(f"{web.url}/api/visitations", json=body, headers=web.api_headers)
    assert r.status_code == 201, r.text
    with world.session() as s:
        [row] = s.exec(select(t.VisitationRow)).all()
        assert row.reason == reason
        audits = s.exec(select(t.AuditRow)).all()
        [recorded] = [a for a in audits if a.action == "visitation_recorded"]
        assert recorded.entity_id == str(row.id) and recorded.details["free_text"] == ["reason"]
        assert not any("Kanarie" in repr(a.details) for a in audits)


def test_every_response_carries_the_security_headers(world: World, web: Any) -> None:
    for r in (
        httpx.get(f"{web.url}/healthz"),
        httpx.get(f"{web.url}/no-such-page"),
        httpx.get(f"{web.url}/t/unknown-token-abc"),
        httpx.post(f"{web.url}/api/visitations", json={"nonsense": 1}, headers=web.api_headers),
        httpx.post(f"{web.url}/api/visitations", json=visitation(world), headers=web.api_headers),
    ):
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, f"{name} missing on {r.request.url.path}"
    assert httpx.get(f"{web.url}/healthz").json() == {"status": "ok"}


def test_an_unexpected_error_on_the_api_is_json(world: World, web_server: Any) -> None:
    """The store is gone: the API still answers JSON (500), a page a Danish sentence."""

    real = world.open_session
    gone = False

    def broken() -> Any:
        if gone:
            raise RuntimeError("/srv/secret/path/iba.sqlite3 is unreachable")
        return real()

    world.open_session = broken  # type: ignore[method-assign]
    with web_server(world) as web:  # its API key is made while the store is still there
        gone = True
        r = httpx.post(
            f"{web.url}/api/visitations", json=visitation(world), headers=web.api_headers
        )
        body = assert_json_error(r, 500)
        assert "internal error" in body["error"] and "/srv" not in r.text
        page = httpx.get(f"{web.url}/t/some-token-abc")
        assert page.status_code == 500 and "<html" in page.text and "/srv" not in page.text
        assert page.headers["cache-control"] == "no-store"


def test_start_today_plus_window_is_still_accepted(world: World, web: Any) -> None:
    """The window is the setting's: two years ahead by default, inside is fine."""
    inside = world.ctx.today() + dt.timedelta(days=700)
    r = httpx.post(
        f"{web.url}/api/visitations",
        json=visitation(world, start=inside.isoformat()),
        headers=web.api_headers,
    )
    assert r.status_code == 201, r.text


def test_handlers_that_touch_the_store_run_off_the_event_loop(world: World) -> None:
    """Every task-page and API handler is a plain ``def`` (FastAPI's thread pool), so
    the engine's synchronous database work never blocks the event loop."""
    import inspect

    from fastapi.routing import APIRoute

    from iba_workflow.web import create_app

    app = create_app(world.settings, world.open_session, world.clock)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert {"/t/{token}", "/t/{token}/nyt-link", "/api/visitations"} <= {r.path for r in routes}
    on_the_loop = [r.path for r in routes if inspect.iscoroutinefunction(r.endpoint)]
    assert on_the_loop == []
