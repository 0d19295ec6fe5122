"""What the identity routes and dependencies need from the composition root, kept on
``app.state.identity`` by ``web.create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from iba_workflow.clock import Clock
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory

from .ratelimit import RateLimiter


@dataclass
class IdentityContext:
    settings: Settings
    session_factory: SessionFactory
    clock: Clock
    secret: str
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter())
    render: Any = None  # (template name, context, status) -> Response, set by the app


def identity_of(request: Request) -> IdentityContext:
    found = getattr(request.app.state, "identity", None)
    if not isinstance(found, IdentityContext):
        raise RuntimeError("the app was not built by web.create_app (no identity context)")
    return found
