"""Keep sign-in tokens out of the web server's access log: uvicorn logs the request
path, and a sign-in link's path holds its token (``/log-ind/<token>``). Installed by the
composition root (``web.create_app``), not at import."""

from __future__ import annotations

import logging
import re

_SIGN_IN_PATH = re.compile(r"(/log-ind/)[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    return _SIGN_IN_PATH.sub(r"\1<token>", text)


class SignInTokenFilter(logging.Filter):
    """Rewrites a record's path argument (uvicorn.access: client, method, path, …)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, SignInTokenFilter) for f in logger.filters):
        logger.addFilter(SignInTokenFilter())
