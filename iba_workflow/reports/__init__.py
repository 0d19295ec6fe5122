"""Reports for the municipality and the funder: queries → tables → charts and files.

Its own read model (``readmodel``), never writes. Small numbers are suppressed in every
output (``tables``). Entry point: ``build_report`` and ``render``."""

from __future__ import annotations

from .build import Report, build_report
from .render import FORMATS, render

__all__ = ["FORMATS", "Report", "build_report", "render"]
