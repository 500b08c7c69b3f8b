"""A local stand-in for the Daily.co API: a tiny HTTP server on 127.0.0.1 (stdlib only).

``POST /rooms`` creates a room and answers JSON at once, ``POST /rooms?delay=S`` after `S`
seconds, ``POST /rooms/slow`` after `SLOW_SECONDS`, and ``POST /rooms/hang`` never answers
(until the service stops). The service counts the rooms it is making (and their peak),
so the demo can show `max_concurrency` without measuring time, and it closes every connection
when it stops.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["SLOW_SECONDS", "DailyService"]

SLOW_SECONDS = 0.3


class DailyService:
    """The stand-in service; use ``async with DailyService() as service``: port chosen by the OS."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._rooms = itertools.count(1)
        self.in_flight = 0
        self.peak = 0
        self.hanging = asyncio.Event()
        """Set when a request to the hanging path has arrived (it will never be answered)."""

    @property
    def port(self) -> int:
        assert self._server is not None, "the service is not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> DailyService:
        self._server = await asyncio.start_server(self._on_connection, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening, end the requests still hanging and wait until their sockets close.

        Hanging requests end on an event rather than a cancel: on 3.11 asyncio logs a
        spurious error for a cancelled ``start_server`` handler.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self._stopping.set()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await server.wait_closed()

    def reset_peak(self) -> None:
        self.peak = self.in_flight

    async def __aenter__(self) -> DailyService:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            method, target = await _read_request(reader)
            answer = await self._route(method, target)
            if answer is not None:
                _write_response(writer, *answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client went away or sent garbage: nothing to answer
        finally:
            self._handlers.discard(handler)
            writer.close()

    async def _route(self, method: str, target: str) -> tuple[int, dict[str, Any]] | None:
        """The status and JSON body to answer, or None to answer nothing."""
        url = urlsplit(target)
        if method != "POST":
            return 405, {"error": "method not allowed"}
        if url.path == "/rooms/hang":
            self.hanging.set()
            await self._stopping.wait()  # never answers: the service stops first
            return None
        if url.path == "/rooms/slow":
            delay = SLOW_SECONDS
        elif url.path == "/rooms":
            delay = float(parse_qs(url.query).get("delay", ["0"])[0])
        else:
            return 404, {"error": f"no such path: {url.path}"}
        await self._work(delay)
        number = next(self._rooms)
        name = f"room-{number}"
        return 200, {"name": name, "url": f"https://demo.daily.co/{name}"}

    async def _work(self, seconds: float) -> None:
        """Make a room, counted as in flight until its answer is ready (hanging ones are not)."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.in_flight -= 1


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """Read a request line and its headers (and skip a body); return method and target."""
    request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").split()
    if len(request_line) != 3:
        raise ValueError(f"bad request line: {request_line!r}")
    length = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return request_line[0], request_line[1]


def _write_response(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + payload)
