"""Finding definition files by id or path."""

from __future__ import annotations

from pathlib import Path

from iba_workflow.errors import IbaError


def iter_definition_files(folder: Path) -> list[Path]:
    """Every ``*.yaml`` / ``*.yml`` in ``folder``, sorted (the schema is JSON, so skipped)."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def find_definition_file(ref: str, folder: Path) -> Path:
    """``ref`` is a path to a file, or the id of a definition in ``folder``."""
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or "/" in ref:
        if candidate.is_file():
            return candidate
        raise IbaError(f"no definition file {ref}", hint="check the path")
    for suffix in (".yaml", ".yml"):
        path = folder / f"{ref}{suffix}"
        if path.is_file():
            return path
    known = [p.stem for p in iter_definition_files(folder)] if folder.is_dir() else []
    raise IbaError(  # no server path in the message: it may reach a client
        f"no definition '{ref}'",
        hint="known definitions: " + (", ".join(known) or "(none)"),
        folder=str(folder),
    )
