"""``python -m iba_workflow`` is the ``iba`` command."""

from __future__ import annotations

from iba_workflow.cli import main

main()
