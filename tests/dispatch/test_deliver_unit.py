"""The dispatcher without a socket: a MemoryMailer stands in for SMTP (like httpx's mock
transport), so what the dispatcher decides — one mailer session per batch, every row
sent once, failures waiting as the one retry policy says, dead letters, the lease from
the settings — is tested in milliseconds on a SQLite store. The SMTP side of the same
code runs against a real aiosmtpd in test_dispatch.py and tests/mail/test_mailer.py."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select
from world import World, answers, make_world

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation
from iba_workflow.errors import MailSendError, PermanentMailError, TransientMailError
from iba_workflow.mail.backoff import BackoffPolicy, retry_delay
from iba_workflow.mail.mailer import MemoryMailer
from iba_workflow.store import tables as t

MONDAY = dt.date(2027, 3, 1)


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path) -> Iterator[World]:
    store = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, store)
    w = make_world(f"sqlite:///{store}", tmp_path, smtp_port=9, day=MONDAY)  # no SMTP here
    yield w
    w.engine.dispose()


def visit(world: World) -> None:
    with world.session() as s:
        record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=dt.date(2027, 3, 8),
        )


def rows(world: World) -> list[t.OutboxRow]:
    with world.session() as s:
        return list(s.exec(select(t.OutboxRow).order_by(t.OutboxRow.id)))


async def tick(world: World, mailer: MemoryMailer, **kwargs: object):  # type: ignore[no-untyped-def]
    return await run_tick(
        world.open_session, world.ctx, world.settings, owner="unit", mailer=mailer, **kwargs
    )


async def test_each_batch_goes_through_one_mailer_session_and_every_row_once(
    world: World,
) -> None:
    visit(world)
    mailer = MemoryMailer()
    report = await tick(world, mailer, batch_size=4)
    outbox = rows(world)
    assert len(outbox) > 4 and all(r.status == "sent" for r in outbox)
    assert report.totals.sent == len(mailer.sent) == len(outbox)
    assert mailer.sessions == report.batches == -(-len(outbox) // 4)
    ids = [m.message["Message-ID"] for m in mailer.sent]
    assert sorted(ids) == sorted(f"<outbox-{r.id}@iba-workflow.local>" for r in outbox)
    assert all(m.recipients == (str(m.message["To"]),) for m in mailer.sent)
    again = await tick(world, mailer)
    assert again.totals.sent == 0 and len(mailer.sent) == len(outbox)


def refuse_first(n: int, error: MailSendError) -> tuple[MemoryMailer, list[str]]:
    refused: list[str] = []

    def refuse(message: EmailMessage, recipients: tuple[str, ...]) -> MailSendError | None:
        if len(refused) < n:
            refused.append(str(message["Message-ID"]))
            return error
        return None

    return MemoryMailer(refuse=refuse), refused


async def test_a_transient_failure_waits_as_the_policy_says_then_is_sent_once(
    world: World,
) -> None:
    world.settings.mail_retry_base_seconds = 40
    visit(world)
    mailer, refused = refuse_first(1, TransientMailError("451 try again later"))
    report = await tick(world, mailer)
    assert report.totals.failed == 1 and report.totals.sent == len(rows(world)) - 1
    (waiting,) = [r for r in rows(world) if r.status == "failed"]
    policy = BackoffPolicy.from_settings(world.settings)
    expected = retry_delay(1, message_id=waiting.message_id, policy=policy)
    assert 32 <= expected.total_seconds() <= 40  # 40 s, less up to 20 % jitter
    assert waiting.next_attempt_at == world.clock.now() + expected
    assert waiting.last_error == "451 try again later"

    world.clock.advance(expected - dt.timedelta(seconds=1))
    assert (await tick(world, mailer)).totals.sent == 0  # not before its time
    world.clock.advance(dt.timedelta(seconds=2))
    assert (await tick(world, mailer)).totals.sent == 1
    ids = [str(m.message["Message-ID"]) for m in mailer.sent]
    assert refused[0] in ids and len(ids) == len(set(ids)) == len(rows(world))


async def test_a_permanent_failure_is_dead_at_once_and_never_tried_again(world: World) -> None:
    visit(world)
    mailer, refused = refuse_first(1, PermanentMailError("550 no such mailbox"))
    report = await tick(world, mailer)
    assert report.totals.dead == 1
    (dead,) = [r for r in rows(world) if r.status == "dead"]
    assert dead.attempts == 1 and dead.last_error == "550 no such mailbox"
    world.clock.advance(dt.timedelta(days=3))
    await tick(world, mailer)
    assert refused[0] not in {str(m.message["Message-ID"]) for m in mailer.sent}


async def test_after_max_attempts_a_mail_is_dead(world: World) -> None:
    world.settings.mail_max_attempts = 3
    visit(world)
    mailer = MemoryMailer(refuse=lambda m, r: TransientMailError("421 busy"))
    statuses = []
    for _ in range(4):
        await tick(world, mailer)
        statuses.append({r.status for r in rows(world)})
        world.clock.advance(dt.timedelta(hours=6))  # past any wait of the policy
    assert statuses[:2] == [{"failed"}, {"failed"}] and statuses[2] == {"dead"}
    assert all(r.attempts == 3 for r in rows(world)) and mailer.sent == []


async def test_rows_are_leased_for_iba_dispatch_lease_seconds(world: World) -> None:
    """The lease comes from the settings (IBA_DISPATCH_LEASE_SECONDS), seen in the store
    while the mail is being sent."""
    world.settings.dispatch_lease_seconds = 17
    visit(world)
    seen: list[dt.timedelta] = []

    def look(message: EmailMessage, recipients: tuple[str, ...]) -> None:
        outbox_id = int(str(message["Message-ID"]).split("-")[1].split("@")[0])
        with world.session() as s:
            row = s.get(t.OutboxRow, outbox_id)
            assert row is not None and row.status == "sending" and row.lease_until
            seen.append(row.lease_until - world.clock.now())
        return None

    await tick(world, MemoryMailer(refuse=look))
    assert seen and set(seen) == {dt.timedelta(seconds=17)}
