"""A websocket client light enough to run hundreds of in one process beside the server being measured.

Frames are parsed by the `websockets` sans-I/O protocol as the bytes arrive and handed on at once, with the time
they arrived: no task wakes per frame (the asyncio client wakes one per frame per connection, which on a 2-core
machine beside the server adds the client's own queueing to every latency, and takes CPU from the server).
LightHTTP is the same for the GETs a client makes on hearing of a note: h11 on a kept-alive connection, no task."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import h11
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

Hear = Callable[[bytes, float], None]


class LightClient(asyncio.Protocol):
    def __init__(self, url: str, headers: dict[str, str], hear: Hear, *, compression: bool) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if compression else None
        self.protocol = ClientProtocol(parse_uri(url), extensions=extensions)
        self.request = self.protocol.connect()
        for name, value in headers.items():
            self.request.headers[name] = value
        self.hear = hear
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.hear(bytes(event.data), at)
            elif isinstance(event, Response) and not self.opened.done():
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                else:
                    self.opened.set_result(None)
        self._flush()  # pongs, and the answer to a close

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
            self.closed.set_result(str(code) if code is not None else "no close frame")

    def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close()
            self._flush()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _flush(self) -> None:
        if self.transport is None:
            return
        data = self.protocol.data_to_send()
        if data:
            self.transport.write(b"".join(data))
        if self.protocol.close_expected() and not self.transport.is_closing():
            self.transport.close()


async def connect_light(url: str, headers: dict[str, str], hear: Hear, *, compression: bool) -> LightClient:
    parts = urlsplit(url)
    if parts.scheme != "ws":
        raise ValueError("the light client speaks plain ws:// only (a bench on loopback)")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: LightClient(url, headers, hear, compression=compression),
        parts.hostname or "localhost",
        parts.port or 80,
    )
    await client.opened
    return client


Answered = Callable[[int, bytes, float], None]


class LightHTTP(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection for GETs, one at a time in the order asked: `get` writes the request at
    once (when the connection is free) and calls back with the status, the body and the moment its last byte came."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.connection = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[tuple[str, dict[str, str], Answered]] = deque()
        self.current: Answered | None = None
        self.status = 0
        self.body: list[bytes] = []
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def get(self, path: str, headers: dict[str, str], answered: Answered) -> None:
        self.waiting.append((path, headers, answered))
        self._next()

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        self.connection.receive_data(data)
        while True:
            event = self.connection.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Response):
                self.status = event.status_code
            elif isinstance(event, h11.Data):
                self.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                answered, self.current = self.current, None
                body, self.body = b"".join(self.body), []
                if answered is not None:
                    answered(self.status, body, at)
                if self.connection.our_state is h11.DONE and self.connection.their_state is h11.DONE:
                    self.connection.start_next_cycle()
                    self._next()
            elif isinstance(event, h11.ConnectionClosed):
                break

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            self.current(0, b"", time.perf_counter())
            self.current = None
        for _, _, answered in self.waiting:
            answered(0, b"", time.perf_counter())
        self.waiting.clear()
        if not self.lost.done():
            self.lost.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _next(self) -> None:
        if self.current is not None or not self.waiting or self.transport is None or self.transport.is_closing():
            return
        path, headers, self.current = self.waiting.popleft()
        request = h11.Request(method="GET", target=path, headers=[("Host", self.host), *headers.items()])
        self.transport.write(self.connection.send(request) + (self.connection.send(h11.EndOfMessage()) or b""))


async def connect_http(base: str) -> LightHTTP:
    parts = urlsplit(base)
    if parts.scheme != "http":
        raise ValueError("the light HTTP client speaks plain http:// only (a bench on loopback)")
    host, port = parts.hostname or "localhost", parts.port or 80
    _, client = await asyncio.get_running_loop().create_connection(lambda: LightHTTP(f"{host}:{port}"), host, port)
    return client
