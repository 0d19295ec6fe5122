"""Where the project's data files live, found from the package or the working directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _first_existing(env: str, name: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    # The project's own folders win (an editable install); the working directory is the
    # fallback for an installed package run from a checkout of the data files.
    for base in (PROJECT_ROOT, Path.cwd()):
        if (base / name).is_dir():
            return base / name
    return PROJECT_ROOT / name


def definitions_dir() -> Path:
    return _first_existing("IBA_DEFINITIONS_DIR", "definitions")


def calendars_dir() -> Path:
    return _first_existing("IBA_CALENDARS_DIR", "calendars")


def templates_dir() -> Path:
    return _first_existing("IBA_TEMPLATES_DIR", "templates")


def known_templates(templates: Path | None = None) -> set[str]:
    """Mail template names: ``templates/mail/<name>.txt.j2``."""
    folder = (templates or templates_dir()) / "mail"
    return {p.name.removesuffix(".txt.j2") for p in folder.glob("*.txt.j2")}
