"""The task page behind a mail link: what GET shows (and never changes), what POST does.

States of a link (``links.check_link``): valid → the form; used → who completed it and
when (a staff name, never the citizen); expired → an explanation and a button that mails
a fresh link (a new outbox row); unknown/altered → a short neutral refusal (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.clock import local_today
from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine import EngineContext, calendars_from, complete_step
from iba_workflow.engine.apply import step_payload
from iba_workflow.engine.definitions import definition_of
from iba_workflow.errors import IbaError
from iba_workflow.identity.policy import may_follow_task_link
from iba_workflow.identity.sessions import SignedIn
from iba_workflow.links import LinkState, check_csrf_token, check_link, make_csrf_token
from iba_workflow.links.store import find_link, mark_link_used
from iba_workflow.store.attendance import attendance_days
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.outbox import enqueue
from iba_workflow.store.tables import (
    CitizenRow,
    CompletionRow,
    EnrollmentRow,
    LinkTokenRow,
    StaffRow,
    StepInstanceRow,
)
from iba_workflow.store.work import committed, unit_of_work

from .forms import TaskForm, build_form, parse_form, recorded_lines
from .impact import confirm_pairs, early_impact, is_early

OPEN = ("planned", "due", "notified")


@dataclass
class Page:
    template: str
    status: int = 200
    context: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None


NOT_FOUND = Page("task_refused.html.j2", 404)
#: A signed-in person opening a link addressed to someone else (the policy says no).
FOREIGN_LINK = Page("adgang_naegtet.html.j2", 403, {"reason": "foreign_link"})


class TaskPages:
    def __init__(
        self, *, session_factory: SessionFactory, clock: Any, secret: str, calendars: Any
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.secret = secret
        self.calendars = calendars or calendars_from(None)

    # -- reading ---------------------------------------------------------------------------
    def show(self, token: str, *, done: bool = False, viewer: SignedIn | None = None) -> Page:
        """GET: read only. Nothing is written, whatever the state (but an audited read
        would be kept: the request is one unit of work)."""
        with unit_of_work(self.session_factory) as session:
            link = find_link(session, token)
            state = check_link(token, link, now=self.clock.now())
            if link is None or state.state is LinkState.UNKNOWN:
                return NOT_FOUND
            if not may_follow_task_link(viewer, link.staff_id):
                return FOREIGN_LINK
            return self._page_for(session, token, link, state.state, done=done)

    def _page_for(
        self,
        session: Session,
        token: str,
        link: LinkTokenRow,
        state: LinkState,
        *,
        done: bool = False,
        error: str | None = None,
        posted: Mapping[str, Any] | None = None,
    ) -> Page:
        step = session.get(StepInstanceRow, link.step_instance_id)
        if step is None:
            return NOT_FOUND
        enrollment = session.get(EnrollmentRow, step.enrollment_id)
        assert enrollment is not None
        d = definition_of(session, enrollment)
        citizen = session.get(CitizenRow, enrollment.citizen_id)
        staff = session.get(StaffRow, link.staff_id)
        ctx: dict[str, Any] = {
            "token": token,
            "intervention": d.name,
            "step": step,
            "spec": d.step(step.step_id),
            "ref": enrollment_ref(enrollment.id or 0),
            "citizen_ref": citizen.ref if citizen else "",
            "staff_name": staff.name if staff else "",
            "done": done,
            "error": error,
            "posted": posted or {},
        }
        now = self.clock.now()
        if state is LinkState.USED:
            who = session.get(StaffRow, link.used_by_staff_id) if link.used_by_staff_id else None
            ctx.update(by=who.name if who else "ukendt", at=link.used_at)
            ctx.update(self._receipt(session, d, step, enrollment))
            return Page("task_used.html.j2", 200, ctx)
        completion = session.exec(
            select(CompletionRow).where(CompletionRow.step_instance_id == step.id)
        ).first()
        if completion is not None or step.status not in OPEN:
            who = session.get(StaffRow, completion.by_staff_id) if completion else None
            ctx.update(
                by=who.name if who else None,
                at=completion.completed_at if completion else None,
                status=step.status,
            )
            return Page("task_closed.html.j2", 200, ctx)
        csrf = make_csrf_token(secret=self.secret, token_hash=link.token_hash, now=now)
        ctx["csrf"] = csrf
        if state is LinkState.EXPIRED:
            ctx["expired_at"] = link.expires_at
            return Page("task_expired.html.j2", 410, ctx)
        ctx["form"] = self._form(session, d, step, enrollment)
        if step.kind == "evaluation":  # the absence so far, for the evaluation
            days = attendance_days(session, enrollment.id or 0, until=local_today(self.clock))
            ctx["absence"] = (len(days) - sum(days.values()), len(days))
        return Page("task_form.html.j2", 422 if error else 200, ctx)

    def _receipt(
        self, session: Session, d: Any, step: StepInstanceRow, e: EnrollmentRow
    ) -> dict[str, Any]:
        """What the completion recorded and what comes next in the enrollment."""
        completion = session.exec(
            select(CompletionRow).where(CompletionRow.step_instance_id == step.id)
        ).first()
        recorded: list[str] = []
        if completion is not None and not completion.skipped:
            form = self._form(session, d, step, e)
            recorded = recorded_lines(form, completion.outcome, completion.data)
        upcoming = session.exec(
            select(StepInstanceRow)
            .where(
                StepInstanceRow.enrollment_id == step.enrollment_id,
                col(StepInstanceRow.status).in_(OPEN),
                col(StepInstanceRow.kind) != "session",
            )
            .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
            .limit(3)
        ).all()
        return {"recorded": recorded, "upcoming": list(upcoming), "enrollment_status": e.status}

    def _form(self, session: Session, d: Any, step: StepInstanceRow, e: Any) -> TaskForm:
        today = local_today(self.clock)
        return build_form(
            session, d, step, e, today=today, ref_of=enrollment_ref, calendars=self.calendars
        )

    # -- writing ---------------------------------------------------------------------------
    def complete(
        self, token: str, posted: Mapping[str, Any], *, viewer: SignedIn | None = None
    ) -> Page:
        """POST: complete the step through the engine and mark the link used, in one
        transaction; the next steps' notifications are in the outbox when this returns."""
        now = self.clock.now()
        with self.session_factory() as session:
            link = find_link(session, token)
            state = check_link(token, link, now=now)
            if link is None or state.state is LinkState.UNKNOWN:
                return NOT_FOUND
            if not may_follow_task_link(viewer, link.staff_id):
                return FOREIGN_LINK
            csrf = str(posted.get("csrf", ""))
            if not check_csrf_token(csrf, secret=self.secret, token_hash=link.token_hash, now=now):
                return Page("task_refused.html.j2", 400, {"csrf_failed": True})
            if state.state is not LinkState.VALID:
                page = self._page_for(session, token, link, state.state)
                page.status = 409 if state.state is LinkState.USED else page.status
                return page
            step = session.get(StepInstanceRow, link.step_instance_id)
            enrollment = session.get(EnrollmentRow, step.enrollment_id) if step else None
            if step is None or enrollment is None:
                return NOT_FOUND
            d = definition_of(session, enrollment)
            ctx = EngineContext(
                clock=self.clock,
                calendars=self.calendars,
                actor=f"staff:{link.staff_id}",
                channel="link",
                staff_id=link.staff_id,
            )
            try:
                if is_early(step, ctx, posted):  # warn first: nothing is written yet
                    return self._early(session, token, link, step, enrollment, posted, ctx)
                # One unit of work: the link is spent and every row of the form is saved,
                # or (any row refused) none of it is.
                with committed(session):
                    form = self._form(session, d, step, enrollment)
                    sub = parse_form(form, posted, own_step_id=step.id or 0)
                    if not mark_link_used(session, link, staff_id=link.staff_id, now=now):
                        raise _SpentMeanwhile
                    complete_step(
                        session,
                        ctx,
                        step_instance_id=step.id or 0,
                        outcome=sub.outcome,
                        data=sub.data,
                    )
                    for other_id, data in sub.others.items():  # the rest of an absence list
                        complete_step(session, ctx, step_instance_id=other_id, data=data)
            except _SpentMeanwhile:
                return self._replayed(session, token)
            except IbaError as exc:
                session.expire_all()
                link = find_link(session, token)
                assert link is not None
                again = check_link(token, link, now=now).state
                return self._page_for(
                    session, token, link, again, error=_sentence(exc), posted=posted
                )
        return Page("", 303, redirect=f"/t/{token}?udfoert=1")

    def _early(
        self,
        session: Session,
        token: str,
        link: LinkTokenRow,
        step: StepInstanceRow,
        enrollment: EnrollmentRow,
        posted: Mapping[str, Any],
        ctx: EngineContext,
    ) -> Page:
        """A step planned for a later day: what completing it now changes in the plan,
        and the same form to post again with the confirmation (the link is not spent)."""
        d = definition_of(session, enrollment)
        sub = parse_form(self._form(session, d, step, enrollment), posted, own_step_id=step.id or 0)
        changes = early_impact(self.session_factory, ctx, step.id or 0, sub.outcome, sub.data)
        page = self._page_for(session, token, link, LinkState.VALID)
        page.context.update(changes=changes, posted_pairs=confirm_pairs(posted))
        return Page("task_early.html.j2", 200, page.context)

    def _replayed(self, session: Session, token: str) -> Page:
        session.expire_all()
        link = find_link(session, token)
        assert link is not None
        page = self._page_for(session, token, link, LinkState.USED)
        page.status = 409
        return page

    def fresh_link(
        self, token: str, posted: Mapping[str, Any], *, viewer: SignedIn | None = None
    ) -> Page:
        """POST from an expired link's page: mail a fresh link (one per expired link)."""
        now = self.clock.now()
        with self.session_factory() as session:
            link = find_link(session, token)
            state = check_link(token, link, now=now)
            if link is not None and not may_follow_task_link(viewer, link.staff_id):
                return FOREIGN_LINK
            if link is None or state.state is not LinkState.EXPIRED:
                return (
                    NOT_FOUND
                    if link is None or state.state is LinkState.UNKNOWN
                    else Page("", 303, redirect=f"/t/{token}")
                )
            csrf = str(posted.get("csrf", ""))
            if not check_csrf_token(csrf, secret=self.secret, token_hash=link.token_hash, now=now):
                return Page("task_refused.html.j2", 400, {"csrf_failed": True})
            step = session.get(StepInstanceRow, link.step_instance_id)
            if step is None or step.status not in OPEN:
                return Page("", 303, redirect=f"/t/{token}")
            enqueue(
                session,
                message_id=f"fresh_link/{step.id}/{link.id}/{link.staff_id}",
                kind="fresh_link",
                recipient_staff_id=link.staff_id,
                now=now,
                step_instance_id=step.id,
                enrollment_id=step.enrollment_id,
                payload=step_payload(step),
            )
            session.commit()
            staff = session.get(StaffRow, link.staff_id)
            return Page("task_relinked.html.j2", 202, {"staff_name": staff.name if staff else ""})


class _SpentMeanwhile(Exception):
    """Another request used the link between our check and our UPDATE."""


def _sentence(exc: IbaError) -> str:
    return exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
