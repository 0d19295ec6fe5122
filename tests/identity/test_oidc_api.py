"""Issue 10, point 4 over real HTTP: ``POST /api/visitations`` with an OAuth 2
client-credentials access token from the real provider (oidc-provider under Node) —
201 with the scope ``visitations:write``, 403 without it, 401 for a token meant for
another API. The web app runs under uvicorn; its clock is the real time, because the
provider signs with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch.world import World, answers, free_port, make_world
from oidc_fixtures import OTHER_RESOURCE, OidcTestProvider, serve_app
from sqlmodel import select

from iba_workflow.store import tables as t
from iba_workflow.web import create_app

START = dt.date(2027, 3, 8)


@pytest.fixture
def api(
    oidc_provider: OidcTestProvider, sqlite_template: Path, tmp_path: Path
) -> Iterator[tuple[World, str]]:
    import shutil

    store = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, store)
    world = make_world(f"sqlite:///{store}", tmp_path, smtp_port=free_port(), day=dt.date.today())
    world.clock.set(dt.datetime.now(dt.UTC))
    world.settings.oidc_issuer = oidc_provider.issuer
    world.settings.api_audience = "urn:iba:api"
    port = free_port()
    app = create_app(world.settings, world.open_session, world.clock)
    with serve_app(app, port):
        yield world, f"http://127.0.0.1:{port}"
    world.engine.dispose()


def _visitation(world: World) -> dict[str, Any]:
    return {
        "definition_id": "hop",
        "citizen_ref": world.citizen_ref,
        "accept": True,
        "start": START.isoformat(),
        "answers": answers(world.definition),
    }


def test_visitation_with_a_client_credentials_token(
    api: tuple[World, str], oidc_provider: OidcTestProvider
) -> None:
    world, url = api
    token = oidc_provider.client_credentials_token(scope="visitations:write")
    answer = httpx.post(
        f"{url}/api/visitations",
        json=_visitation(world),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["decision"] == "accepted"
    with world.session() as s:
        assert len(s.exec(select(t.EnrollmentRow)).all()) == 1


def test_token_without_the_scope_is_403_and_for_another_api_401(
    api: tuple[World, str], oidc_provider: OidcTestProvider
) -> None:
    world, url = api
    no_scope = oidc_provider.client_credentials_token(scope="reports:read")
    other_api = oidc_provider.client_credentials_token(resource=OTHER_RESOURCE)
    answers_ = {}
    for name, token in (("no_scope", no_scope), ("other_api", other_api)):
        answers_[name] = httpx.post(
            f"{url}/api/visitations",
            json=_visitation(world),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    assert answers_["no_scope"].status_code == 403, answers_["no_scope"].text
    assert answers_["no_scope"].json()["required_scope"] == "visitations:write"
    assert answers_["other_api"].status_code == 401, answers_["other_api"].text
    assert "another API" in answers_["other_api"].json()["error"]
    assert token not in answers_["other_api"].text
    with world.session() as s:
        assert s.exec(select(t.EnrollmentRow)).all() == [], "nothing was recorded"
