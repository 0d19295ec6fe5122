"""What the workspace pages need from the composition root: the identity context (store,
clock, settings, renderer), the calendars and the definitions on disk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request, Response

from iba_workflow import paths
from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext, calendars_from
from iba_workflow.engine.context import CalendarProvider
from iba_workflow.identity.context import IdentityContext, identity_of
from iba_workflow.identity.forms import check_session_csrf, session_csrf
from iba_workflow.identity.policy import PageAccess


@dataclass
class Workspace:
    ident: IdentityContext
    calendars: CalendarProvider
    definitions_dir: Path
    templates_dir: Path
    _definitions: dict[str, Definition] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        return self.ident.clock.now()

    def engine_ctx(self, access: PageAccess) -> EngineContext:
        return EngineContext(
            clock=self.ident.clock,
            calendars=self.calendars,
            actor=access.actor.label,
            channel="workspace",
            staff_id=access.signed_in.staff_id,
            date_window=self.ident.settings.date_window,
        )

    def definitions(self) -> dict[str, Definition]:
        """The definitions on disk (the ones a visitation can enrol in), read once."""
        if not self._definitions:
            from iba_workflow.definition import load_definition

            known = paths.known_templates()
            for path in sorted(self.definitions_dir.glob("*.yaml")):
                d = load_definition(path, known_templates=known)
                self._definitions[d.id] = d
        return self._definitions

    def page(
        self, template: str, access: PageAccess, context: dict[str, Any], status: int = 200
    ) -> Response:
        base = {
            "me": access.signed_in.staff,
            "coordinator": access.actor.is_coordinator,
            "admin": access.actor.is_admin,
            "csrf": session_csrf(self.ident.secret, access.signed_in, self.now()),
            "notice": None,
            "error": None,
        }
        base.update(context)
        response: Response = self.ident.render(template, base, status)
        return response

    def csrf_ok(self, access: PageAccess, token: str) -> bool:
        return check_session_csrf(self.ident.secret, token, access.signed_in, self.now())


def make_workspace(ident: IdentityContext, *, templates_dir: Path) -> Workspace:
    settings = ident.settings
    return Workspace(
        ident=ident,
        calendars=calendars_from(settings.calendars_dir or paths.calendars_dir()),
        definitions_dir=Path(settings.definitions_dir or paths.definitions_dir()),
        templates_dir=templates_dir,
    )


def workspace_of(request: Request) -> Workspace:
    found = getattr(request.app.state, "workspace", None)
    if not isinstance(found, Workspace):
        found = make_workspace(identity_of(request), templates_dir=paths.templates_dir())
        request.app.state.workspace = found
    return found
