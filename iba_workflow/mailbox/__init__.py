"""The dev mailbox (``iba mailbox``): an aiosmtpd SMTP server that keeps what it receives
in memory and a small web page (and JSON API) that shows it, like Mailpit."""

from __future__ import annotations

from .server import Mailbox, run_mailbox, running_mailbox, start_smtp
from .store import MessageStore, StoredMessage, StoringHandler
from .web import create_mailbox_app

__all__ = [
    "Mailbox",
    "MessageStore",
    "StoredMessage",
    "StoringHandler",
    "create_mailbox_app",
    "run_mailbox",
    "running_mailbox",
    "start_smtp",
]
