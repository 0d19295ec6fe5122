"""End to end against the real Prefect server: ``iba serve`` registers the compiled
deployments; a visitation (CLI door, HTTP door's function, event) becomes an enrollment;
a dispatcher tick sends real mail to aiosmtpd; two ticks at once send each mail once;
SIGKILL of ``iba serve`` mid-tick and a restart deliver every mail; and no personal data
planted at a door reaches anything the Prefect API shows."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from seeding import context, enrollments_due_now, start_in
from sqlmodel import select
from stack import REPO, Serving, SlowHandler, free_port, serve_env, wait_until

from iba_workflow.demo import follow_visitation
from iba_workflow.mail.message import message_id
from iba_workflow.orchestration.compiler import (
    dispatcher_deployment_name,
    visitation_deployment_name,
)
from iba_workflow.orchestration.intake import Identity, receive_visitation, request_outcome
from iba_workflow.orchestration.readback import (
    collect_visible_texts,
    find_canaries,
    read_artifacts,
    read_flow_run_record,
    table_rows,
    wait_for_flow_run,
)
from iba_workflow.orchestration.runtime import load_definitions
from iba_workflow.orchestration.server import PrefectServer
from iba_workflow.orchestration.serving import (
    deployment_runs,
    emit_visitation_created,
    flush_events,
    run_scheduled_now,
    wait_for_automations,
    wait_for_deployment,
    wait_for_scheduled_run,
)
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store.requests import VisitationRequestRow
from iba_workflow.store.tables import CitizenIdentityRow, EnrollmentRow, OutboxRow

DEFINITIONS = load_definitions()
CANARY_NAME = "Kanariefugl Testesen"
CANARY_CPR = "241199-4471"
LAST_CANARY_NAME = "Kanariefugl Andersen"  # planted by the last test itself
LAST_CANARY_CPR = "150390-1238"


@dataclass
class Stack:
    serving: Serving
    smtp: SlowHandler
    open_session: Any
    env: dict[str, str]


@pytest.fixture(scope="module")
def stack(
    prefect_server: PrefectServer,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    prefect_timings: dict[str, float],
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("iba-serve")
    database = tmp / "iba.sqlite3"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    handler = SlowHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = serve_env(
        prefect_server, database_url=url, data_dir=tmp / "data", smtp_port=controller.port
    )
    serving = Serving(env=env, logdir=tmp)
    engine = make_engine(url)
    started = time.monotonic()
    serving.start()
    prefect_timings["iba_serve_spawned"] = time.monotonic() - started
    try:
        yield Stack(serving, handler, session_factory(engine), env)
    finally:
        codes = serving.stop_all()
        controller.stop()
        engine.dispose()
        assert all(code == 0 for code in codes), serving.log()


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Any]:
    from prefect import get_client

    async with get_client() as c:
        yield c


async def _ready(client: Any, definition_id: str) -> Any:
    deployment = await wait_for_deployment(client, visitation_deployment_name(definition_id))
    await wait_for_automations(client, deployment.id)
    return deployment


async def _wait_processed(stack: Stack, key: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with stack.open_session() as session:
            outcome = request_outcome(session, key)
        if outcome.status != "received":
            return outcome
        assert time.monotonic() < deadline, f"request {key} not processed: {stack.serving.log()}"
        await asyncio.sleep(0.1)


def _receive(stack: Stack, definition_id: str, ref: str, identity: Identity | None = None) -> str:
    """What ``POST /api/visitations`` stores (accepted, every criterion yes, a start in
    three weeks), committed by the test as the caller; the request's key."""
    d = DEFINITIONS[definition_id]
    with stack.open_session() as session:
        key = receive_visitation(
            session,
            context(),
            definition=d,
            citizen_ref=ref,
            channel="http",
            accept=True,
            answers={c.id: True for c in d.eligibility},
            start=start_in(21),
            municipality="hedensted",
            identity=identity,
        )
        session.commit()
    return key


async def test_deployments_are_named_and_tagged(stack: Stack, client: Any) -> None:
    for d in DEFINITIONS.values():
        deployment = await _ready(client, d.id)
        assert set(deployment.tags) == {"iba", f"definition:{d.id}", f"version:{d.version}"}
    dispatcher = await wait_for_deployment(client, dispatcher_deployment_name())
    assert dispatcher.schedules and dispatcher.schedules[0].active


async def test_http_door_event_makes_an_enrollment(
    stack: Stack, client: Any, prefect_timings: dict[str, float]
) -> None:
    deployment = await _ready(client, "fagmentor")
    # what POST /api/visitations does, then the event
    key = _receive(stack, "fagmentor", "H-0001", Identity(name=CANARY_NAME, cpr=CANARY_CPR))
    emitted = time.monotonic()
    emit_visitation_created(request_id=key, definition_id="fagmentor")
    await flush_events()
    outcome = await _wait_processed(stack, key)
    prefect_timings["event_to_enrollment"] = time.monotonic() - emitted
    assert outcome.status == "processed" and outcome.decision == "accepted"

    (run,) = [
        r for r in await deployment_runs(client, deployment.id) if r.parameters["request_id"] == key
    ]
    assert run.parameters == {"request_id": key}
    finished = await wait_for_flow_run(client, run.id, timeout=30)
    assert finished.state is not None and finished.state.is_completed()
    record = await read_flow_run_record(client, run.id)
    assert record.name == f"fagmentor · visitation · {key}"
    assert record.flow_name == "fagmentor · visitation"
    with stack.open_session() as session:
        enrollment = session.get(EnrollmentRow, outcome.enrollment_id)
        assert enrollment is not None and enrollment.status == "active"
        assert session.exec(select(CitizenIdentityRow)).first() is not None

    emit_visitation_created(request_id=key, definition_id="fagmentor")  # replayed event
    await flush_events()
    deadline = time.monotonic() + 15
    while len(runs := await deployment_runs(client, deployment.id)) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    for r in runs:
        await wait_for_flow_run(client, r.id, timeout=30)
    with stack.open_session() as session:
        mine = session.exec(
            select(EnrollmentRow).where(EnrollmentRow.citizen_id == enrollment.citizen_id)
        )
        assert len(mine.all()) == 1, "processing a request twice made a second enrollment"


@pytest.mark.parametrize("wait", ["20", "0"], ids=["waits", "answers-at-once"])
async def test_http_door_over_real_http_goes_through_prefect(
    stack: Stack, client: Any, tmp_path: Path, wait: str
) -> None:
    """``POST /api/visitations`` on the real ``iba web`` process, with a Prefect API
    configured: stored, announced, processed by ``hop · visitation``; answered 201 when
    the flow ran within ``IBA_API_WAIT_SECONDS``, else 202, and then followed with
    ``GET /api/visitations/{request}`` (with no wait at all, always 202)."""
    import httpx

    from iba_workflow.engine import register_citizen
    from iba_workflow.identity.apikeys import create_api_key

    deployment = await _ready(client, "hop")
    with stack.open_session() as session:
        register_citizen(session, context(), ref=f"W-{wait}-0001", municipality="hedensted")
        key = create_api_key(
            session,
            name="test",
            scopes=["visitations:write"],
            now=context().now(),
            created_by="test",
        ).key
        session.commit()
    port = free_port()
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - closed below
    web = subprocess.Popen(
        [sys.executable, "-m", "iba_workflow", "web", "--host", "127.0.0.1", "--port", str(port)],
        env={**stack.env, "IBA_API_WAIT_SECONDS": wait},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, what="iba web")
        body = {
            "definition_id": "hop",
            "citizen_ref": f"W-{wait}-0001",
            "accept": True,
            "start": start_in(21).isoformat(),
            "answers": {c.id: True for c in DEFINITIONS["hop"].eligibility},
        }
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=40
        ) as api:
            answer = api.post("/api/visitations", json=body)
            # 201 when 'hop · visitation' ran within the door's wait, 202 when not yet
            assert answer.status_code in ((201, 202) if wait != "0" else (202,)), answer.text
            found = follow_visitation(api, answer.json(), timeout=90)
            # asked again afterwards, the request answers the same (GET, same scope)
            again = api.get(f"/api/visitations/{found['request']}")
            assert again.status_code == 200 and again.json() == found, again.text
        assert found["status"] == "processed" and found["decision"] == "accepted", found
        assert found["start"] == body["start"] and found["steps"] > 0
        runs = [
            r
            for r in await deployment_runs(client, deployment.id)
            if r.parameters == {"request_id": found["request"]}
        ]
        assert len(runs) == 1, "one flow run of 'hop · visitation' for the request"
        with stack.open_session() as session:
            enrollment = session.get(EnrollmentRow, found["enrollment_id"])
            assert enrollment is not None and enrollment.definition_id == "hop"
    finally:
        web.terminate()
        web.wait(timeout=15)
        log.close()


def test_cli_door_goes_through_prefect(stack: Stack, prefect_timings: dict[str, float]) -> None:
    iba = [sys.executable, "-m", "iba_workflow"]
    env = dict(stack.env)
    subprocess.run(
        [*iba, "citizen", "add", "C-0001"], env=env, cwd=REPO, check=True, capture_output=True
    )
    started = time.monotonic()
    done = subprocess.run(
        [
            *iba,
            "visit",
            "fagmentor",
            "--citizen",
            "C-0001",
            "--accept",
            "--start",
            start_in(21).isoformat(),
            *[  # every criterion must be answered (taken from the definition)
                arg
                for criterion in DEFINITIONS["fagmentor"].eligibility
                for arg in ("--answer", f"{criterion.id}=yes")
            ],
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    prefect_timings["cli_visit_via_prefect"] = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "processed by Prefect" in done.stdout and "accepted" in done.stdout


async def test_scheduled_tick_sends_mail_to_smtp(
    stack: Stack, client: Any, prefect_timings: dict[str, float]
) -> None:
    pending = enrollments_due_now(stack.open_session, DEFINITIONS["hop"], count=1, prefix="T")
    assert pending > 5
    deployment = await wait_for_deployment(client, dispatcher_deployment_name())
    scheduled = await wait_for_scheduled_run(client, deployment.id)
    pulled = time.monotonic()
    await run_scheduled_now(client, scheduled.id, now=dt.datetime.now(dt.UTC))
    finished = await wait_for_flow_run(client, scheduled.id, timeout=60)
    prefect_timings["tick_pulled_to_completed"] = time.monotonic() - pulled
    assert finished.state is not None and finished.state.is_completed(), stack.serving.log()

    ids = stack.smtp.message_ids()
    assert len(ids) == len(set(ids)) == pending
    with stack.open_session() as session:
        statuses = Counter(r.status for r in session.exec(select(OutboxRow)))
    assert statuses == {"sent": pending}
    record = await read_flow_run_record(client, scheduled.id)
    assert record.name == "iba · dispatcher · tick"
    (artifact,) = await read_artifacts(client, scheduled.id)
    rows = {r["intervention"]: r for r in table_rows(artifact)}
    assert rows["hop"]["sent"] > 5 and rows["I alt"]["failed"] == 0
    assert rows["I alt"]["sent"] == pending  # the hop mails (and a Monday's digest)


async def test_tick_reannounces_a_request_whose_event_was_lost(stack: Stack, client: Any) -> None:
    """The store is the truth: a request stored but never announced (event lost, or sent
    before ``iba serve`` registered its trigger) is announced again by the next tick."""
    await _ready(client, "hop")
    key = _receive(stack, "hop", "L-0001")
    with stack.open_session() as session:
        row = session.exec(
            select(VisitationRequestRow).where(VisitationRequestRow.key == key)
        ).one()
        row.received_at = row.received_at - dt.timedelta(minutes=5)
        session.add(row)
        session.commit()
    deployment = await wait_for_deployment(client, dispatcher_deployment_name())
    run = await client.create_flow_run_from_deployment(deployment.id)
    await wait_for_flow_run(client, run.id, timeout=60)
    outcome = await _wait_processed(stack, key)
    assert outcome.status == "processed" and outcome.enrollment_id is not None


async def test_two_concurrent_ticks_send_each_mail_once(stack: Stack, client: Any) -> None:
    before = len(stack.smtp.received)
    pending = enrollments_due_now(
        stack.open_session, DEFINITIONS["motion_sygemeldte"], count=1, prefix="M"
    )
    deployment = await wait_for_deployment(client, dispatcher_deployment_name())
    stack.smtp.delay = 0.02
    runs = [await client.create_flow_run_from_deployment(deployment.id) for _ in range(2)]
    for run in runs:
        finished = await wait_for_flow_run(client, run.id, timeout=90)
        assert finished.state is not None and finished.state.is_completed(), stack.serving.log()
    stack.smtp.delay = 0.0
    new = stack.smtp.message_ids()[before:]
    assert len(new) == pending and len(set(new)) == pending
    sent = [table_rows(a)[-1]["sent"] for run in runs for a in await read_artifacts(client, run.id)]
    assert sum(sent) == pending  # each tick reports what it sent; together: each mail once


async def test_failed_send_waits_for_the_outbox_policy_then_is_sent_once(
    stack: Stack, client: Any
) -> None:
    """SMTP answers 451 to the first two recipients: their send task fails, visibly and
    without a Prefect retry (one retry policy: the outbox's); the two rows wait as the
    policy says (IBA_MAIL_RETRY_BASE_SECONDS is 0.5 here) and are sent on their second try,
    by the same tick if it is still claiming then, else by the next. Every mail arrives
    once."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    before = len(stack.smtp.received)
    with stack.open_session() as session:
        known = {r.id for r in session.exec(select(OutboxRow))}
    enrollments_due_now(stack.open_session, DEFINITIONS["hop"], count=1, prefix="R")
    with stack.open_session() as session:  # this test's mails (rows of earlier tests that
        seeded = {  # wait for a later day stay pending: they are not counted here)
            r.id
            for r in session.exec(select(OutboxRow))
            if r.id not in known and r.status == "pending"
        }
    pending = len(seeded)
    assert pending > 2
    deployment = await wait_for_deployment(client, dispatcher_deployment_name())
    stack.smtp.refuse_next = 2
    run = await client.create_flow_run_from_deployment(deployment.id)
    finished = await wait_for_flow_run(client, run.id, timeout=90)
    assert finished.state is not None and finished.state.is_failed(), stack.serving.log()
    assert "some mails not sent" in (finished.state.message or "")
    task_runs = await client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
    )
    failed = [t for t in task_runs if t.state is not None and t.state.is_failed()]
    assert failed and all(t.name.startswith("hop · ") for t in failed)
    assert all(t.run_count == 1 for t in task_runs), "Prefect retried a send task"
    for _ in range(3):  # the outbox retries them: in the same tick once their wait is over,
        with stack.open_session() as session:  # or in the next one
            waiting = [r for r in session.exec(select(OutboxRow)) if r.status != "sent"]
        if not waiting:
            break
        retry_at = max(r.next_attempt_at for r in waiting)
        wait_until(
            lambda at=retry_at: dt.datetime.now(dt.UTC) > at, timeout=10, what="the retry time"
        )
        again = await client.create_flow_run_from_deployment(deployment.id)
        await wait_for_flow_run(client, again.id, timeout=90)
    with stack.open_session() as session:
        mine = [r for r in session.exec(select(OutboxRow)) if r.id not in known]
    assert {r.id for r in mine} == set(seeded) and all(r.status == "sent" for r in mine)
    tries = sorted(r.attempts for r in mine)
    assert tries.count(2) == 2 and tries.count(1) == pending - 2  # the refused ones: twice
    received = Counter(stack.smtp.message_ids()[before:])
    assert all(n == 1 for n in received.values()), f"a mail arrived twice: {received}"
    assert {message_id(i) for i in seeded} <= set(received), "a mail of this test never arrived"


async def test_kill_serve_mid_tick_then_restart_delivers_every_mail_once(
    stack: Stack, client: Any, prefect_timings: dict[str, float]
) -> None:
    """SIGKILL of the whole ``iba serve`` group while a tick is sending, then a new
    ``iba serve``: every pending mail is delivered. The one window SMTP cannot close —
    killed after the server accepted a mail but before ``mark_sent`` — can repeat at most
    the one mail in flight, with the same Message-ID (receivers drop the copy)."""
    before = len(stack.smtp.received)
    pending = enrollments_due_now(stack.open_session, DEFINITIONS["fagmentor"], count=3, prefix="K")
    assert pending >= 30
    deployment = await wait_for_deployment(client, dispatcher_deployment_name())
    stack.smtp.delay = 0.1  # a tick of ~0.1 s per mail: slow enough to kill mid-way
    await client.create_flow_run_from_deployment(deployment.id)
    wait_until(lambda: len(stack.smtp.received) - before >= 8, timeout=60, what="first mails")
    (serve,) = [p for p in stack.serving.processes if p.poll() is None]
    stack.serving.kill(serve)
    at_kill = len(stack.smtp.received) - before
    assert 0 < at_kill < pending, "the tick was not killed mid-way"

    stack.smtp.delay = 0.0
    restarted = time.monotonic()
    stack.serving.start()
    for _ in range(4):  # the killed tick's batch waits for its lease to expire (6 s)
        run = await client.create_flow_run_from_deployment(deployment.id)
        finished = await wait_for_flow_run(client, run.id, timeout=90)
        assert finished.state is not None and finished.state.is_completed(), stack.serving.log()
        with stack.open_session() as session:
            left = [r for r in session.exec(select(OutboxRow)) if r.status != "sent"]
        if not left:
            break
    prefect_timings["restart_to_all_sent"] = time.monotonic() - restarted
    assert left == []
    received = Counter(stack.smtp.message_ids()[before:])
    assert len(received) == pending, "a mail was lost"
    repeated = [m for m, n in received.items() if n > 1]
    assert len(repeated) <= 1, f"more than the one in-flight mail repeated: {repeated}"
    prefect_timings["kill_repeated_mails"] = len(repeated)


async def test_no_personal_data_reaches_prefect(stack: Stack, client: Any) -> None:
    """Run last: a canary planted at the HTTP door here (so the test does not depend on
    which earlier test ran in this process), then every flow run, parameter, log line,
    artifact and deployment the API shows, after all the runs above — the canary is in none."""
    deployment = await _ready(client, "fagmentor")
    key = _receive(
        stack, "fagmentor", "H-0099", Identity(name=LAST_CANARY_NAME, cpr=LAST_CANARY_CPR)
    )
    emit_visitation_created(request_id=key, definition_id="fagmentor")
    await flush_events()
    outcome = await _wait_processed(stack, key)
    assert outcome.status == "processed" and outcome.decision == "accepted"
    with stack.open_session() as session:
        identities = session.exec(select(CitizenIdentityRow)).all()
        assert any(i.cpr == LAST_CANARY_CPR and i.name == LAST_CANARY_NAME for i in identities)
    for run in await deployment_runs(client, deployment.id):
        await wait_for_flow_run(client, run.id, timeout=30)
    texts = await collect_visible_texts(client)
    assert len(texts) > 50
    assert any("fagmentor · visitation" in t for t in texts)
    canaries = [CANARY_NAME, LAST_CANARY_NAME]
    canaries += [c for cpr in (CANARY_CPR, LAST_CANARY_CPR) for c in (cpr, cpr.replace("-", ""))]
    assert find_canaries(texts, canaries) == []


def test_iba_serve_starts_its_own_server_and_stops_on_sigterm(
    prefect_template: Path, tmp_path: Path, prefect_timings: dict[str, float]
) -> None:
    """No PREFECT_API_URL: ``iba serve`` starts ``prefect server start`` (SQLite under the
    data directory), prints the UI's URL, and on SIGTERM stops itself and that server."""
    import os
    import signal

    from iba_workflow.orchestration.server import free_port, wait_group_gone

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "IBA_DATA_DIR": str(tmp_path / "data"),
            "IBA_DATABASE_URL": f"sqlite:///{tmp_path / 'iba.sqlite3'}",
            "IBA_PREFECT_CACHE": str(prefect_template.parents[1]),
            "PYTHONPATH": str(REPO),
            "DO_NOT_TRACK": "1",
        }
    )
    iba = [sys.executable, "-m", "iba_workflow"]
    subprocess.run([*iba, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "serve.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*iba, "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: "serving the dispatcher" in log.read_text(errors="replace"),
            timeout=60,
            what="iba serve with its own server",
        )
        prefect_timings["own_server_serving"] = time.monotonic() - started
        text = log.read_text()
        assert f"Prefect UI:  http://127.0.0.1:{port}" in text
        assert (tmp_path / "data" / "prefect" / "prefect.db").exists()
        wait_until(  # serve has registered its deployments with its own server
            lambda: _deployment_registered(port, dispatcher_deployment_name()),
            timeout=60,
            what="the dispatcher deployment in iba serve's own server",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "stopped" in log.read_text()
    assert wait_group_gone(process.pid)
    with pytest.raises(OSError):  # our own server is gone too
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)


def _deployment_registered(port: int, name: str) -> bool:
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:{port}/api/deployments/name/{urllib.parse.quote(name)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False
