"""Bearer credentials on /api/* over real HTTP: 401 without (or with a revoked, unknown
or malformed one), 403 with a key of the wrong scope, 201 with the right one; the key
stored only as a hash, its last use recorded; 429 above the rate, with Retry-After; a
JWT without a configured issuer is told what is missing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from dispatch.world import World, answers
from identity_helpers import make_api_key
from sqlalchemy import text
from sqlmodel import SQLModel

from iba_workflow.identity.apikeys import revoke_api_key
from iba_workflow.store.identity import ApiKeyRow

START = dt.date(2027, 3, 8)


def _body(world: World) -> dict[str, Any]:
    return {
        "definition_id": "hop",
        "citizen_ref": world.citizen_ref,
        "accept": True,
        "start": START.isoformat(),
        "answers": answers(world.definition),
    }


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _enrollments(world: World) -> int:
    with world.session() as s:
        return int(s.execute(text("SELECT count(*) FROM enrollment")).scalar_one())


def test_no_credential_401_wrong_scope_403_right_scope_201(world: World, web: Any) -> None:
    with world.session() as s:  # a key for something else (a scope no route grants)
        s.add(ApiKeyRow(key_hash=_hash(wrong := _new_key()), label=wrong[:11], name="other",
                        scopes=["reports:read"], created_at=world.clock.now(),
                        created_by="tests"))  # fmt: skip
        s.commit()
    with httpx.Client(base_url=web.url, timeout=20) as client:
        r = client.post("/api/visitations", json=_body(world))
        assert r.status_code == 401
        assert "Bearer" in r.json()["error"] and "iba apikey create" in r.json()["hint"]
        assert r.headers["www-authenticate"].startswith('Bearer realm="iba-workflow"')
        assert r.headers["content-type"] == "application/json"
        for bad in ("Basic dXNlcjpwdw==", "Bearer", "Bearer nonsense", "Bearer ibak_short"):
            r = client.post("/api/visitations", json=_body(world), headers={"Authorization": bad})
            assert r.status_code == 401, bad
        r = client.post("/api/visitations", json=_body(world), headers=_bearer(wrong))
        assert r.status_code == 403
        assert r.json()["required_scope"] == "visitations:write"
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert _enrollments(world) == 0
        r = client.post("/api/visitations", json=_body(world), headers=web.api_headers)
        assert r.status_code == 201, r.text
        assert _enrollments(world) == 1


def test_a_key_is_stored_only_as_a_hash_and_its_last_use_recorded(world: World, web: Any) -> None:
    key = web.api_key
    with httpx.Client(base_url=web.url, timeout=20) as client:
        client.post("/api/visitations", json=_body(world), headers=_bearer(key))
    with world.session() as s:
        rows = s.execute(text("SELECT * FROM api_key")).all()
        everything = [
            repr(s.execute(text(f"SELECT * FROM {table}")).all())
            for table in (t.name for t in SQLModel.metadata.sorted_tables)
        ]
        used = s.execute(text("SELECT last_used_at FROM api_key")).scalar_one()
    assert len(rows) == 1 and _hash(key) in repr(rows)
    assert not [dump for dump in everything if key in dump or key[5:] in dump]
    assert used is not None


def test_a_revoked_key_is_refused(world: World, web: Any) -> None:
    with world.session() as s:
        revoke_api_key(s, 1, now=world.clock.now(), by="tests")
        s.commit()
    with httpx.Client(base_url=web.url, timeout=20) as client:
        r = client.post("/api/visitations", json=_body(world), headers=web.api_headers)
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_above_the_rate_429_with_retry_after(world: World, web: Any) -> None:
    world.settings.api_limit_per_minute = 3
    other = make_api_key(world)
    bad = {"definition_id": "hop"}  # refused (422) after the credential is checked
    with httpx.Client(base_url=web.url, timeout=20) as client:
        codes = [
            client.post("/api/visitations", json=bad, headers=web.api_headers).status_code
            for _ in range(4)
        ]
        assert codes == [422, 422, 422, 429]
        r = client.post("/api/visitations", json=bad, headers=web.api_headers)
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert "too many" in r.json()["error"]
        # per key: another key still gets through
        assert client.post("/api/visitations", json=bad, headers=_bearer(other)).status_code == 422
        world.clock.advance(dt.timedelta(seconds=61))
        assert client.post("/api/visitations", json=bad, headers=web.api_headers).status_code == 422


def test_a_jwt_without_an_issuer_is_told_what_is_missing(world: World, web: Any) -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with httpx.Client(base_url=web.url, timeout=20) as client:
        r = client.post("/api/visitations", json=_body(world), headers=_bearer(jwt))
    assert r.status_code == 401 and "IBA_OIDC_ISSUER" in r.json()["error"]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def _new_key() -> str:
    from iba_workflow.identity.bearer import new_api_key

    return new_api_key()


def _hash(key: str) -> str:
    from iba_workflow.identity.bearer import hash_api_key

    return hash_api_key(key)


def test_a_stored_request_is_followed_until_processed_or_refused(world: World, web: Any) -> None:
    """What a client does after a 202 (the Prefect door did not finish in time):
    ``GET /api/visitations/{request}`` says ``received``, then what the flow decided;
    the same scope as the POST, only for the credential that sent the request, and
    nothing about the citizen in the answer."""
    from iba_workflow.orchestration.intake import process_visitation_request, receive_visitation

    other = make_api_key(world)  # another client, with the same scope
    with world.session() as s:
        request = dict(citizen_ref=world.citizen_ref, accept=True, start=START,
                       answers=answers(world.definition),
                       submitted_by=_label(s, web.api_key))  # fmt: skip
        accepted, refused = (
            receive_visitation(s, world.ctx, definition=world.definition, channel="api", **request)
            for _ in range(2)
        )
    with httpx.Client(base_url=web.url, timeout=20) as client:
        r = client.get(f"/api/visitations/{accepted}", headers=web.api_headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"request": accepted, "status": "received"}
        assert client.get(f"/api/visitations/{accepted}").status_code == 401
        unknown = client.get("/api/visitations/vr-00000000000000000000", headers=web.api_headers)
        assert unknown.status_code == 404 and "no visitation request" in unknown.json()["error"]
        # another client's request: the same 404, not a hint that it exists
        r = client.get(f"/api/visitations/{accepted}", headers=_bearer(other))
        assert r.status_code == 404 and accepted in r.json()["error"]
        assert r.json()["error"].replace(accepted, "") == unknown.json()["error"].replace(
            "vr-00000000000000000000", ""
        )

        definitions = {world.definition.id: world.definition}
        for key in (accepted, refused):  # the second: she is enrolled already
            with world.open_session() as s:
                process_visitation_request(s, world.ctx, key, definitions=definitions)
        done = client.get(f"/api/visitations/{accepted}", headers=web.api_headers).json()
        assert done["status"] == "processed" and done["decision"] == "accepted"
        assert done["start"] == START.isoformat() and done["steps"] > 0
        assert isinstance(done["enrollment_id"], int) and _enrollments(world) == 1
        no = client.get(f"/api/visitations/{refused}", headers=web.api_headers).json()
        assert no["status"] == "refused" and no["error"], no
        assert world.citizen_ref not in repr(done) + repr(no)


def test_the_demo_client_follows_a_request_through_the_rate_limit(world: World, web: Any) -> None:
    """``follow_visitation`` (the demo's client, and the tests' of ``iba up``): a 429 is
    waited out, not raised; the request is followed until the flow has processed it."""
    from iba_workflow.demo import follow_visitation
    from iba_workflow.orchestration.intake import process_visitation_request, receive_visitation

    with world.session() as s:
        key = receive_visitation(s, world.ctx, definition=world.definition, channel="api",
                                 citizen_ref=world.citizen_ref, accept=True, start=START,
                                 answers=answers(world.definition),
                                 submitted_by=_label(s, web.api_key))  # fmt: skip
    world.settings.api_limit_per_minute = 1
    received = {"request": key, "status": "received"}
    with httpx.Client(base_url=web.url, timeout=20, headers=web.api_headers) as client:
        found = follow_visitation(client, received, timeout=1.5, poll=0.1)
        assert found == received  # asked once, then 429s until the deadline
        assert client.get(f"/api/visitations/{key}").status_code == 429
        with world.open_session() as s:
            process_visitation_request(s, world.ctx, key, definitions={"hop": world.definition})
        world.clock.advance(dt.timedelta(seconds=61))
        found = follow_visitation(client, received, timeout=5, poll=0.1)
    assert found["status"] == "processed" and found["decision"] == "accepted", found


def _label(session: Any, key: str) -> str:
    """The audit label of an API key (``apikey:<id>``), as the web app names its client."""
    row = session.execute(
        text("SELECT id FROM api_key WHERE key_hash = :h"), {"h": _hash(key)}
    ).scalar_one()
    return f"apikey:{row}"
