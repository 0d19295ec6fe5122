"""Prefect adapters: start a server, read back what Prefect recorded.

Importing this package imports no Prefect; the modules that need the Prefect client import
it inside their functions.
"""

from __future__ import annotations
