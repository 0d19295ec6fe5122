"""Task pages behind mail links, and the visitation API (FastAPI + Jinja2).

``create_app(settings, session_factory, clock)`` builds the app; ``handle_visitation`` is
the body of ``POST /api/visitations``, reusable by other entry points.
"""

from __future__ import annotations

from .app import create_app
from .visitations import VisitationIn, handle_visitation

__all__ = ["VisitationIn", "create_app", "handle_visitation"]
