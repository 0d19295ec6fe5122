"""Fixtures for the workspace tests (defined in ``office.py``; the web tests' world and
server are reused from ``tests/web/conftest.py``, whose helpers it imports by their own
module names, so ``tests/web`` goes on the path first)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from office import office, signed_in  # noqa: F401  (fixtures)
from web.conftest import WebServer, smtp, web, world  # noqa: F401  (fixtures)
