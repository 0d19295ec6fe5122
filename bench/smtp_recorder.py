"""An SMTP sink for the benchmarks that records what it receives: one line per message,
``<unix time> <Message-ID>``, appended to a file (flushed per message). Run in its own
process: ``python bench/smtp_recorder.py PORT FILE``."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from typing import Any

from aiosmtpd.smtp import SMTP

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Recorder:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", encoding="ascii")  # noqa: SIM115 (open for the process)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        head = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        mid = found.group(1).decode("ascii", "replace") if found else "-"
        self.out.write(f"{time.time():.6f} {mid}\n")
        self.out.flush()
        return "250 OK"


async def serve(port: int, path: str) -> None:
    handler = Recorder(path)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def read(path: str) -> list[tuple[float, str]]:
    """The recorded (time, Message-ID) pairs, in the order received."""
    out = []
    with open(path, encoding="ascii") as f:
        for line in f:
            at, _, mid = line.strip().partition(" ")
            out.append((float(at), mid))
    return out


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
