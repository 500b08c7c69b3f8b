"""The demo's ``DailyHelper``: a stdlib HTTP client for the stand-in service (async, and sync
for the blocking API's step).

It closes its socket without awaiting anything in cleanup, so a killed request (a timeout
with ``on_timeout="kill_task"``) leaves nothing open behind it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

__all__ = ["DailyClient", "DailyError"]


class DailyError(Exception):
    """The service answered with an error status."""


class DailyClient:
    """``DailyHelper.createDailyRoom()`` for the stand-in service on 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def create_room(self, path: str = "/rooms") -> dict[str, Any]:
        """POST `path` and return the room the service made (as a dict, from JSON)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            request = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            writer.write(request.encode("latin-1"))
            await writer.drain()
            status, body = await _read_response(reader)
        finally:
            writer.close()  # no await here: a killed task gets no time for cleanup
        if status != 200:
            raise DailyError(f"POST {path} answered {status}: {body}")
        return body

    def create_room_sync(self, path: str = "/rooms") -> dict[str, Any]:
        """`create_room` for sync code, as ``requests.post(url).json()`` would be: it blocks
        the calling thread until the answer (stdlib `http.client`, no proxy settings)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10.0)
        try:
            connection.request("POST", path, headers={"Content-Length": "0"})
            response = connection.getresponse()
            status, raw = response.status, response.read()
        finally:
            connection.close()
        body: dict[str, Any] = json.loads(raw)
        if status != 200:
            raise DailyError(f"POST {path} answered {status}: {body}")
        return body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    status_line = (await reader.readuntil(b"\r\n")).decode("latin-1").split(maxsplit=2)
    status = int(status_line[1])
    length = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body: dict[str, Any] = json.loads(await reader.readexactly(length))
    return status, body
