"""The feed route: ``GET /kalender/<token>.ics``. A capability URL like the task links:
whoever holds it reads that one calendar; a revoked or unknown token is a 404 with a
Danish sentence. The token is never logged."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from iba_workflow.clock import Clock
from iba_workflow.identity import policy
from iba_workflow.store.db import SessionFactory

from .feeds import FEED_PATH, feed_by_token, feed_ics

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


def feed_router(session_factory: SessionFactory, clock: Clock) -> APIRouter:
    router = APIRouter()

    # A calendar program has no session: the secret URL is the capability (like a task
    # link), stored hashed and revocable; the route test lists it as public.
    @router.get(
        FEED_PATH + "/{token}.ics",
        dependencies=[policy.public("calendar feed: the secret URL is the capability")],
    )
    def feed(token: str) -> Response:
        with session_factory() as session:
            row = feed_by_token(session, token)
            if row is None:
                # A staff member's plan feed (``iba staff feed``, dispatch.feed): the same
                # address form, another table of hashed tokens.
                from iba_workflow.dispatch.feed import feed_ics as plan_feed_ics
                from iba_workflow.dispatch.feed import staff_for_token

                staff = staff_for_token(session, token)
                if staff is not None:
                    data = plan_feed_ics(session, staff, now=clock.now())
                    return Response(
                        data, media_type="text/calendar; charset=utf-8", headers=HEADERS
                    )
                return PlainTextResponse(
                    "Kalenderen findes ikke eller er lukket. Bed koordinatoren om et nyt link.",
                    status_code=404,
                    headers=HEADERS,
                )
            body = feed_ics(session, row, stamp=clock.now())
        return Response(body, media_type="text/calendar; charset=utf-8", headers=HEADERS)

    return router
