"""A full run with the real web process (``iba web``, uvicorn's access log on) logging to
a file: visitation over HTTP → mail at aiosmtpd → the link opened (HEAD, GET) → the
step completed. Then every log file is scanned: no link token, no session cookie value,
no planted CPR number — and the calendar attachment holds no token either."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dispatch.world import CPR, SmtpServer, World, answers, make_world
from identity_helpers import make_api_key
from sqlmodel import select
from web_process import WebProcess

from iba_workflow.clock import COPENHAGEN, SystemClock
from iba_workflow.dispatch import run_tick
from iba_workflow.engine import register_citizen
from iba_workflow.store.tables import StepInstanceRow

PLANTED_CPR = "2912874417"  # typed where it does not belong; refused, never logged
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path, smtp: SmtpServer) -> Iterator[World]:
    store = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, store)
    today = SystemClock().now().astimezone(COPENHAGEN).date()
    w = make_world(f"sqlite:///{store}", tmp_path, smtp_port=smtp.port, day=today)
    yield w
    w.engine.dispose()


def test_no_token_session_or_cpr_in_any_log_line(
    world: World, smtp: SmtpServer, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    # The dispatcher runs in this process: its loggers (ours, the SMTP client's) to a file.
    dispatch_log = logging.FileHandler(logs / "dispatch.log", encoding="utf-8")
    watched = [logging.getLogger(name) for name in ("iba_workflow", "aiosmtplib")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(dispatch_log)
        logger.setLevel(logging.DEBUG)
    web = WebProcess(world, logs / "web.log")
    cookies: set[str] = set()
    try:
        web.wait_ready()
        with world.session() as s:  # a citizen whose identity holds a CPR number
            register_citizen(
                s, world.ctx, ref="B-0002", municipality=world.definition.municipality, cpr=CPR
            )
        key = make_api_key(world)
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=web.url, timeout=15, headers=auth) as client:
            start = (world.ctx.today() + dt.timedelta(days=14)).isoformat()
            body = {
                "definition_id": "hop",
                "citizen_ref": PLANTED_CPR,
                "accept": True,
                "start": start,
                "answers": answers(world.definition),
            }
            assert client.post("/api/visitations", json=body).status_code == 422
            body["citizen_ref"] = world.citizen_ref
            created = client.post("/api/visitations", json=body)
            assert created.status_code == 201, created.text

            # The dispatcher's clock on the day the readiness talk is due (whatever today is).
            with world.session() as s:
                due = s.exec(
                    select(StepInstanceRow.due_date).where(
                        StepInstanceRow.step_id == "klar_til_praktik"  # type: ignore[attr-defined]
                    )
                ).first()
            assert due is not None
            world.clock.set(dt.datetime.combine(due, dt.time(8, 0), COPENHAGEN))
            asyncio.run(run_tick(world.open_session, world.ctx, world.settings, owner="logs"))
            iba = world.staff_email("iba")
            invite = smtp.wait_for(lambda m: "klar til praktik" in m.subject and iba in m.rcpt_tos)
            token = invite.token
            assert token and token in invite.text
            ics = re.sub(r"\r\n[ \t]", "", invite.ics() or "")  # unfolded lines
            assert "Linket til opgaven står i mailen" in ics.replace("\\n", " ")
            assert token not in ics and "/t/" not in ics and "/l/" not in ics

            assert client.head(f"/t/{token}").status_code == 200
            assert client.get(f"/l/{token}").status_code == 200
            assert client.get(f"/t/{token}x").status_code == 404
            page = client.get(f"/t/{token}", params={"token": token})
            csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
            form = {"csrf": csrf, "outcome": "klar"}
            refused = client.post(f"/t/{token}", data={**form, "note": f"cpr {PLANTED_CPR}"})
            assert refused.status_code == 422 and "CPR-nummer" in refused.text
            warned = client.post(f"/t/{token}", data={**form, "note": "fint"})  # a later day
            assert warned.status_code == 200 and "registrere den før tid" in warned.text
            done = client.post(f"/t/{token}", data={**form, "note": "fint", "tidligt": "ja"})
            assert done.status_code == 303, done.text
            assert client.get(done.headers["location"]).status_code == 200
            for response in (created, page, refused, warned, done):
                cookies.update(c.value for c in response.cookies.jar)
            cookies.update(v for v in client.cookies.values())
    finally:
        web.stop()
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(dispatch_log)
            logger.setLevel(level)
        dispatch_log.close()

    texts = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in logs.iterdir()}
    web_log = texts["web.log"]
    # The access log is really on, with the route kept and the token gone:
    assert '"HEAD /t/… HTTP/1.1" 200' in web_log and '"GET /t/…?token=… HTTP/1.1" 200' in web_log
    assert '"POST /api/visitations HTTP/1.1" 422' in web_log
    secrets = {token, token[:16], PLANTED_CPR, CPR, CPR.replace("-", ""), *cookies, key}
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{name} holds a secret: …{secret[:4]}"


def test_the_filter_cleans_messages_arguments_and_tracebacks() -> None:
    from iba_workflow.log_redaction import RedactingFilter

    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, "x", 1, '%s - "%s %s HTTP/%s" %d', None, None
    )
    access.args = ("127.0.0.1:1", "HEAD", "/t/Secret-Token_123?session=abc", "1.1", 200)
    assert RedactingFilter().filter(access)
    assert access.getMessage() == '127.0.0.1:1 - "HEAD /t/…?session=… HTTP/1.1" 200'
    try:
        raise ValueError(f"citizen {CPR} at /l/Another-Token")
    except ValueError:
        record = logging.LogRecord(
            "iba_workflow.web", logging.ERROR, "x", 1, "for %s", (PLANTED_CPR,), sys.exc_info()
        )
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "for [cpr]" in text and "/l/…" in text and "ValueError" in text
    assert CPR not in text and PLANTED_CPR not in text and "Another-Token" not in text


def test_calendar_feed_urls_are_redacted_like_task_links() -> None:
    """A feed's secret URL (``/kalender/<token>.ics``) is a capability too."""
    from iba_workflow.log_redaction import redact

    line = '127.0.0.1:5 - "GET /kalender/Zq9secretFeedToken123.ics HTTP/1.1" 200'
    assert "Zq9secretFeedToken123" not in redact(line)
    assert '"GET /kalender/… HTTP/1.1" 200' in redact(line)
