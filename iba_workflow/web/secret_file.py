"""The link secret under ``data_dir``: created private (0600) and atomically.

The file is written to a temporary name opened with ``O_CREAT | O_EXCL`` and mode 0600
(private from its first byte), then hard-linked to its final name, which fails if
another process got there first; the loser reads the winner's key. So concurrent first
starts agree on one key, and no reader ever sees a half-written or world-readable file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def read_or_create_secret(path: Path) -> str:
    """The key stored at ``path``; created (0600, atomically) if there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path)
    return path.read_text(encoding="ascii").strip()


def _create(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # link() (unlike rename()) never replaces: the first process to link wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
