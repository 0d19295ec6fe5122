"""The definition language: model, loader and checks."""

from __future__ import annotations

from .loader import content_hash, load_definition, parse_definition
from .model import Definition

__all__ = ["Definition", "content_hash", "load_definition", "parse_definition"]
