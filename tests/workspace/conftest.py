"""Fixtures for the workspace tests (defined in ``office.py``; the web tests' world and
server are reused from ``tests/web/conftest.py``)."""

from __future__ import annotations

from office import office, signed_in  # noqa: F401  (fixtures)
from web.conftest import WebServer, smtp, web, world  # noqa: F401  (fixtures)
