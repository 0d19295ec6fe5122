"""The coordinator's workspace (issue 11): Min uge, Forløb, one enrollment with its
re-planning, Visitation, Hold, Medarbejdere, Indsatser.

Thin pages: they read through :mod:`.queries` and act through the engine, every route
through the policy (:mod:`iba_workflow.identity.policy`), one unit of work per request.
"""

from __future__ import annotations

from .routes import workspace_router

__all__ = ["workspace_router"]
