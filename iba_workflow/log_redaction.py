"""No link token, session id or CPR number in any log line.

A task link is a capability (``/t/<token>``): whoever reads it in a log can complete the
step. So every log record the web process writes passes :class:`RedactingFilter`: the
token part of ``/t/…``, ``/l/…`` (and of any ``token=``, ``session=``, ``code=`` query or
cookie value) becomes ``…``, and anything CPR-shaped becomes ``[cpr]``. uvicorn's access
log keeps method, route and status (``"HEAD /t/… HTTP/1.1" 200``).

:func:`web_log_config` is uvicorn's logging configuration with the filter on every
handler, the root logger included (``iba web``, and so ``iba up``, use it).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from iba_workflow.cpr_guard import CPR_SHAPED

REDACTED = "…"
_SECRET_PATH = re.compile(r"(/(?:t|l|kalender)/)[^/\s?#\"']+")
_SECRET_PARAM = re.compile(
    r"((?:token|session|session_id|sid|code|state|csrf|key)=)[^&;\s\"']+", re.IGNORECASE
)
# uvicorn.access records carry (client_addr, method, full_path, http_version, status)
_ACCESS_ARGS = 5


def redact(text: str) -> str:
    """``text`` without link tokens, session ids or CPR-shaped numbers."""
    text = _SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)
    return CPR_SHAPED.sub("[cpr]", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record before any handler formats it (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            record.name == "uvicorn.access"
            and isinstance(args, tuple)
            and len(args) == _ACCESS_ARGS
        ):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        else:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def web_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, every handler filtered, the root logger too (our
    own ``iba_workflow.*`` loggers and any library's go through the same handler)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactingFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["default"], "level": "INFO"}
    return config


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (default: the root logger), for a
    process that configured logging itself."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
