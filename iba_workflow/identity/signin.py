"""Sign-in by e-mail link: ask with a work address, get a short-lived single-use link.

- The answer to a request never says whether the address is known: an unknown or
  inactive address gets the same page, and no mail.
- The mail goes through the outbox (kind ``sign_in``; the payload holds no address, no
  token) and the dispatcher's delivery code; :func:`send_now` delivers it right after
  the request instead of at the next tick. A failed send is retried by the dispatcher
  like any other mail; a request older than the link's lifetime is not sent any more.
- The token is made when the mail is built (``compose_sign_in``): 256 random bits, only
  its SHA-256 stored (``sign_in_token``), ``IBA_SIGNIN_LINK_MINUTES`` long, used once
  by a conditional UPDATE (:func:`use_sign_in_token`), the same machinery as task links.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select

from iba_workflow.clock import Clock
from iba_workflow.links.tokens import LinkState, hash_token, looks_like_token, new_token
from iba_workflow.mail.render import MailRenderer, SignInMail
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.identity import SignInTokenRow
from iba_workflow.store.outbox import enqueue
from iba_workflow.store.tables import OutboxRow, StaffRow

log = logging.getLogger("iba_workflow.identity")

SIGN_IN_KIND = "sign_in"
LEASE_SECONDS = 120


def link_lifetime(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.signin_link_minutes)


def normalise_address(address: str) -> str:
    return address.strip().lower()


def sign_in_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/log-ind/{token}"


def request_sign_in(session: Session, *, address: str, now: dt.datetime) -> int | None:
    """Queue a sign-in mail for the active staff member with ``address``; the outbox
    id, or None when no such person is known (the caller answers the same either way
    and commits)."""
    wanted = normalise_address(address)
    if not wanted or "@" not in wanted or len(wanted) > 254:
        return None
    staff = session.exec(
        select(StaffRow).where(func.lower(StaffRow.email) == wanted, col(StaffRow.active))
    ).first()
    if staff is None or staff.id is None:
        return None
    row = enqueue(
        session,
        message_id=f"sign_in/{staff.id}/{secrets.token_hex(8)}",
        kind=SIGN_IN_KIND,
        recipient_staff_id=staff.id,
        now=now,
        payload={"requested_at": now.isoformat()},
    )
    session.flush()
    return None if row is None else row.id


def issue_sign_in_token(
    session: Session, *, staff_id: int, now: dt.datetime, ttl: dt.timedelta, outbox_id: int | None
) -> str:
    """A new sign-in token for ``staff_id`` (its hash added and flushed); the plain token."""
    token = new_token()
    session.add(
        SignInTokenRow(
            token_hash=hash_token(token),
            staff_id=staff_id,
            outbox_id=outbox_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def find_sign_in_token(
    session: Session, token: str, *, now: dt.datetime
) -> tuple[LinkState, SignInTokenRow | None]:
    """The state of a presented sign-in token (valid, used, expired, unknown)."""
    if not looks_like_token(token):
        return LinkState.UNKNOWN, None
    row = session.exec(
        select(SignInTokenRow).where(SignInTokenRow.token_hash == hash_token(token))
    ).first()
    if row is None:
        return LinkState.UNKNOWN, None
    if row.used_at is not None:
        return LinkState.USED, row
    if now >= _aware(row.expires_at):
        return LinkState.EXPIRED, row
    return LinkState.VALID, row


def use_sign_in_token(session: Session, row: SignInTokenRow, *, now: dt.datetime) -> bool:
    """Spend the token in the caller's transaction; False if it was used (or expired)
    in the meantime: of two concurrent uses, one wins."""
    result = session.execute(
        update(SignInTokenRow)
        .where(
            col(SignInTokenRow.id) == row.id,
            col(SignInTokenRow.used_at).is_(None),
            col(SignInTokenRow.expires_at) > now,
        )
        .values(used_at=now)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


def compose_sign_in(
    session: Session, row: OutboxRow, *, settings: Settings, renderer: MailRenderer, clock: Clock
) -> Any:
    """The mail for a ``sign_in`` outbox row (the dispatcher calls this): issues the token
    and commits its hash before returning. A request older than the link's lifetime, or
    for someone no longer active, is skipped."""
    from iba_workflow.dispatch.compose import Composed, Skipped
    from iba_workflow.mail.message import build_message

    now = clock.now()
    staff = session.get(StaffRow, row.recipient_staff_id)
    if staff is None or not staff.active:
        return Skipped("no active recipient")
    requested = dt.datetime.fromisoformat(str(row.payload.get("requested_at")))
    if now - _aware(requested) >= link_lifetime(settings):
        return Skipped("sign-in request too old")
    token = issue_sign_in_token(
        session,
        staff_id=int(staff.id or 0),
        now=now,
        ttl=link_lifetime(settings),
        outbox_id=row.id,
    )
    mail = SignInMail(
        link_url=sign_in_url(settings.base_url, token), valid_minutes=settings.signin_link_minutes
    )
    message = build_message(
        outbox_id=row.id or 0,
        rendered=renderer.render(mail),
        sender=settings.mail_from,
        to=[staff.email],
        clock=clock,
    )
    session.commit()
    return Composed(message, (staff.email,))


def _claim_one(session: Session, outbox_id: int, *, owner: str, now: dt.datetime) -> bool:
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    t = table.c
    result = session.execute(
        update(table)
        .where(t.id == outbox_id, t.status == "pending")
        .values(
            status="sending",
            lease_owner=owner,
            lease_until=now + dt.timedelta(seconds=LEASE_SECONDS),
            attempts=t.attempts + 1,
        )
    )
    session.commit()
    return bool(cast("CursorResult[Any]", result).rowcount)


def send_now(
    outbox_id: int, *, session_factory: SessionFactory, settings: Settings, clock: Clock
) -> str:
    """Deliver one sign-in mail now, through the dispatcher's delivery code (claim the
    row, build, send, mark sent or failed). Runs after the response, in a worker
    thread; a dispatcher that claimed the row first simply sends it itself."""
    from iba_workflow import paths
    from iba_workflow.dispatch.core import deliver
    from iba_workflow.engine import EngineContext, calendars_from

    owner = f"web-sign-in-{secrets.token_hex(4)}"
    with session_factory() as session:
        if not _claim_one(session, outbox_id, owner=owner, now=clock.now()):
            return "claimed elsewhere"
    ctx = EngineContext(clock=clock, calendars=calendars_from(None), actor="web", channel="web")
    renderer = MailRenderer.for_folder(settings.templates_dir or paths.templates_dir())
    report = asyncio.run(
        deliver(
            [outbox_id],
            session_factory=session_factory,
            ctx=ctx,
            settings=settings,
            owner=owner,
            renderer=renderer,
        )
    )
    log.info("sign-in mail %s: %s", outbox_id, report)
    return "done"
