"""The sign-in mail goes through the outbox: when SMTP is down at the request, the
dispatcher's next tick sends it (a link that works); a request older than a link's
lifetime is not sent any more. Sign-in requests are limited per client address too."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from dispatch.world import SmtpServer, World, free_port
from identity_helpers import csrf_of, follow_link, sign_in_token
from sqlmodel import select

from iba_workflow.dispatch import run_tick
from iba_workflow.store import tables as t


def _ask(client: httpx.Client, address: str) -> httpx.Response:
    form = client.get("/log-ind")
    return client.post("/log-ind", data={"email": address, "csrf": csrf_of(form.text)})


def _sign_in_rows(world: World) -> list[t.OutboxRow]:
    with world.session() as s:
        return list(s.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "sign_in")).all())


def _wait_until_tried(world: World) -> t.OutboxRow:
    """The web app sends after answering; the row leaves 'pending' when it has tried."""
    import time

    deadline = time.monotonic() + 15
    while True:
        [row] = _sign_in_rows(world)
        if row.status not in ("pending", "sending") or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_smtp_down_at_the_request_then_the_dispatcher_sends_it(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    iba = world.staff_email("iba")
    world.settings.smtp_port = free_port()  # nothing listens there
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=True) as client:
        assert "Tjek din mail" in _ask(client, iba).text
        row = _wait_until_tried(world)
        assert row.status == "failed" and not smtp.mails
        world.settings.smtp_port = smtp.port
        world.clock.advance(dt.timedelta(minutes=2))  # past the first backoff
        asyncio.run(run_tick(world.open_session, world.ctx, world.settings, owner="tick"))
        mail = smtp.wait_for(lambda m: iba in m.rcpt_tos)
        landed = follow_link(client, sign_in_token(mail))
        assert "Min uge" in landed.text
    [row] = _sign_in_rows(world)
    assert row.status == "sent"


def test_a_request_older_than_a_link_is_not_sent(world: World, smtp: SmtpServer, web: Any) -> None:
    world.settings.smtp_port = free_port()
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=True) as client:
        _ask(client, world.staff_email("iba"))
        assert _wait_until_tried(world).status == "failed"
    world.settings.smtp_port = smtp.port
    world.clock.advance(dt.timedelta(minutes=15))
    report = asyncio.run(run_tick(world.open_session, world.ctx, world.settings, owner="tick"))
    assert report.delivery.skipped == 1 and not smtp.mails
    with world.session() as s:
        assert not s.exec(select(t.CompletionRow)).all()
        assert s.exec(select(t.OutboxRow)).one().status == "sent"  # done with, not retried


def test_sign_in_requests_are_limited_per_client_address(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    world.settings.signin_limit_per_ip = 3
    with httpx.Client(base_url=web.url, timeout=10, follow_redirects=True) as client:
        codes = [_ask(client, f"person{n}@jobcenter.test").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
