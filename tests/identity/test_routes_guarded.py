"""Every route of the web app goes through the policy: it declares one guard from
``identity.policy`` (page, api, task_link or public), the public ones are exactly the
allow-list below, and every ``/api/*`` route needs a bearer credential. A route added
without a guard fails here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import SecretStr

from iba_workflow.clock import FixedClock
from iba_workflow.identity.policy import Guard, guard_of
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.web import create_app

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/log-ind"),
    ("POST", "/log-ind"),
    ("GET", "/log-ind/sendt"),
    ("GET", "/log-ind/{token}"),
    ("POST", "/log-ind/{token}"),
    ("GET", "/log-ind/oidc"),
    ("GET", "/log-ind/oidc/callback"),
    ("GET", "/kalender/{token}.ics"),  # a calendar feed's secret URL (issue 12)
}
TASK_LINKS = {"/t/{token}", "/l/{token}", "/t/{token}/nyt-link"}


def _guards(dependant: Any) -> list[Guard]:
    found = []
    for dep in dependant.dependencies:
        guard = guard_of(dep.call) if dep.call else None
        if guard is not None:
            found.append(guard)
        found.extend(_guards(dep))
    return found


def _flat(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every route with its full path, also inside included routers (FastAPI keeps an
    included router as one entry holding the original)."""
    out: list[tuple[str, Any]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            assert not getattr(context, "dependencies", None), "router-level guards: unsupported"
            out.extend(_flat(inner.routes, prefix + (getattr(context, "prefix", "") or "")))
        else:
            out.append((prefix + getattr(route, "path", repr(route)), route))
    return out


def route_guards(app: FastAPI) -> dict[tuple[str, str], list[Guard]]:
    """(method, path) → the policy guards the route declares; a non-API route (a mount,
    a plain Starlette route) has none."""
    out: dict[tuple[str, str], list[Guard]] = {}
    for path, route in _flat(app.router.routes):
        methods = getattr(route, "methods", None) or {"*"}
        guards = _guards(route.dependant) if isinstance(route, APIRoute) else []
        for method in methods:
            out[(method, path)] = guards
    return out


def problems(app: FastAPI) -> list[str]:
    found = []
    for (method, path), guards in sorted(route_guards(app).items()):
        kinds = [g.kind for g in guards]
        if len(guards) != 1:
            found.append(f"{method} {path}: {len(guards)} policy guards (needs exactly one)")
            continue
        kind = kinds[0]
        if kind == "public" and (method, path) not in PUBLIC and method != "HEAD":
            found.append(f"{method} {path}: public but not on the allow-list")
        if path.startswith("/api/") and kind != "api":
            found.append(f"{method} {path}: an API route without a bearer guard")
        if kind == "task_link" and path not in TASK_LINKS:
            found.append(f"{method} {path}: a task-link guard off the task links")
        if path in TASK_LINKS and kind != "task_link":
            found.append(f"{method} {path}: a task link without its guard")
    return found


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key=SecretStr("k" * 32))
    clock = FixedClock(dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    return create_app(settings, session_factory(make_engine(url)), clock)


def test_every_route_goes_through_the_policy(app: FastAPI) -> None:
    routes = route_guards(app)
    assert ("POST", "/api/visitations") in routes and ("GET", "/min-side") in routes
    assert len(routes) >= 15
    assert problems(app) == []
    public = {key for key, guards in routes.items() if guards[0].kind == "public"}
    assert public - {("HEAD", p) for _, p in PUBLIC} == PUBLIC


def test_a_route_added_without_the_policy_is_caught(app: FastAPI) -> None:
    @app.get("/borgere")
    def citizens() -> dict[str, str]:
        return {}

    @app.post("/api/borgere")
    def api_citizens() -> dict[str, str]:
        return {}

    found = problems(app)
    assert "GET /borgere: 0 policy guards (needs exactly one)" in found
    assert "POST /api/borgere: 0 policy guards (needs exactly one)" in found
