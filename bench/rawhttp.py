"""A bare HTTP/1.1 client for posters that must cost the machine little: one kept-alive connection, a request
written in one go, an answer read by its Content-Length. httpx spends about 2.5 ms of CPU on a request here, as
much as the server's work for it, and the bench shares the server's two cores."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


class RawHTTPError(RuntimeError):
    """The server closed the connection or answered something this client does not read."""


class Connection:
    """One kept-alive connection to `base` (http://host:port); reopened when the server closes it, and after
    `requests_each` requests: several workers share one listening socket, and connections opened all at once are
    mostly taken by one of them; opened again now and then, they go to whichever worker is readier, as requests
    behind a load balancer would."""

    def __init__(self, base: str, *, requests_each: int = 25) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"a plain http://host:port address is needed, not {base!r}")
        self.host, self.port = parts.hostname, parts.port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._requests_each, self._requests = requests_each, 0

    async def post_json(self, path: str, body: Any, *, token: str) -> tuple[int, bytes]:
        """POST `body` as JSON; the answer's status and body."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        reader, writer = await self._open()
        try:
            writer.write(head.encode("ascii") + payload)
            status, answer, kept_alive = await _answer(reader)
        except (OSError, asyncio.IncompleteReadError, RawHTTPError):
            await self.close()
            raise
        self._requests += 1
        if not kept_alive or self._requests >= self._requests_each:
            await self.close()
        return status, answer

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        return self._streams

    async def close(self) -> None:
        self._requests = 0
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError) as error:
        raise RawHTTPError(f"not an HTTP answer: {lines[0]!r}") from error
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    if "content-length" not in headers:
        raise RawHTTPError("an answer without Content-Length")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"
