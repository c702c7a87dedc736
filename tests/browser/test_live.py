"""Live updates in Chromium: a note posted on one page appears on another without a reload, and a page whose
network drops catches up, once, when it comes back.

The drop goes through a small TCP relay between the browser and the server, which the test cuts and restores:
the browser sees its connections die as they would when a phone loses signal."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PROBLEMS, Server
from tests.browser.helpers import at_path
from tests.browser.test_notes import (  # noqa: F401  (the `as_person` fixture)
    PASSWORD,
    Cast,
    NoteDraft,
    api_note,
    as_person,
    make_network,
    post_note,
)


def open_feed(page: Page, network: str, base: str = "") -> None:
    page.goto(f"{base}/networks/{network}/notes")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Notes about")
    # Connected and resumed: the server's first answer is nothing, so wait for the socket to open instead.
    page.wait_for_function("() => document.getElementById('live') && window.htmx")
    page.wait_for_timeout(300)


def test_a_note_posted_on_one_page_appears_on_another_without_a_reload(
    cast: Cast,
    as_person: Callable[..., Page],  # noqa: F811
) -> None:
    network = make_network(cast, cast.ana, cast.ben, cast.cai, lead=cast.ben)
    reader = as_person(cast.ben, phone=True)
    open_feed(reader, network)
    outsider_page = as_person(cast.dee)
    outsider_page.goto("/")
    writer = as_person(cast.ana)
    body = "Arrived without breakfast and fell asleep in assembly"
    note_id = post_note(writer, network, NoteDraft(body=body), sees="3 people in 3 organisations; not the family")
    arrived = reader.locator(f"#note-{note_id}")
    expect(arrived).to_contain_text(body, timeout=5_000)
    expect(reader).to_have_url(at_path(f"/networks/{network}/notes"))
    expect(reader.locator("#notes > article").first).to_have_id(f"note-{note_id}")
    expect(arrived).to_have_class(re.compile(r"\bpw-note--new\b"))  # highlighted until it has been seen a moment
    expect(reader.locator("#live-arrivals")).to_have_text("A new note has arrived.")
    expect(arrived).not_to_have_class(re.compile(r"\bpw-note--new\b"), timeout=8_000)
    expect(arrived.get_by_role("button", name="Acknowledge")).to_be_visible()
    arrived.get_by_role("button", name="Acknowledge").click()
    expect(arrived.locator(".pw-note__done")).to_have_text("You have acknowledged the note.")
    lead_only = api_note(cast, cast.ana, network, "For the lead only", audience={"kind": "lead"})
    for_cai = api_note(cast, cast.ana, network, "For Cairo", audience={"kind": "people", "user_ids": [cast.cai.id]})
    expect(reader.locator(f"#note-{lead_only}")).to_be_visible()
    expect(reader.locator(f"#note-{for_cai}")).to_have_count(0)


# How Chromium reports a fetch on a connection the relay cut or refused, depending on the moment it lands (a cut
# in the middle of an answer is a CONTENT_LENGTH_MISMATCH).
CUT_CONNECTION = "(CONNECTION_RESET|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED|CONNECTION_REFUSED|CONTENT_LENGTH_MISMATCH)"


class Relay:
    """A TCP relay on 127.0.0.1 to the server that a test can cut (dropping every connection and refusing new
    ones) and restore, as a network would."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.cut = False
        self._transports: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        # Connections still being accepted, opened or piped are let finish here (the relay is cut: each ends at
        # once), not cancelled halfway (an accept cancelled halfway leaves its socket open) nor left for the
        # garbage collector to find unclosed in a later test.
        deadline = time.monotonic() + 5
        while (pending := asyncio.all_tasks(self._loop)) and time.monotonic() < deadline:
            for writer in list(self._transports):
                writer.transport.abort()
            self._loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(self._loop), return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._relay(reader, writer)
        finally:
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            return
        self._transports |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.transport.abort()
            self._transports -= {writer, up_writer}

    def drop(self) -> None:
        def abort_all() -> None:
            self.cut = True
            for writer in list(self._transports):
                writer.transport.abort()

        self._loop.call_soon_threadsafe(abort_all)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(lambda: setattr(self, "cut", False))

    def close(self) -> None:
        self.drop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def relay(server: Server) -> Iterator[Relay]:
    port = int(server.url.rsplit(":", 1)[1])
    relay = Relay(port)
    try:
        yield relay
    finally:
        relay.close()


def test_a_page_whose_network_drops_catches_up_once_when_it_comes_back(
    cast: Cast,
    open_page: Callable[..., Page],
    relay: Relay,
    request: pytest.FixtureRequest,
) -> None:
    network = make_network(cast, cast.ana, cast.ben, lead=cast.ben)
    page = open_page(phone=True)
    page.goto(f"{relay.url}/sign-in")
    page.locator("#email").fill(cast.ben.email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(at_path("/"))
    open_feed(page, network, relay.url)
    before = api_note(cast, cast.ana, network, "Posted while connected")
    expect(page.locator(f"#note-{before}")).to_be_visible()

    relay.drop()
    status = page.locator("#live-status")
    expect(status).to_have_text("Connection lost. Trying to reconnect…")
    missed = [api_note(cast, cast.ana, network, f"Posted while the signal was gone ({n})") for n in range(2)]
    page.wait_for_timeout(1_500)
    expect(page.locator(f"#note-{missed[0]}")).to_have_count(0)
    relay.restore()

    for note_id in missed:
        expect(page.locator(f"#note-{note_id}")).to_have_count(1, timeout=20_000)
    expect(status).to_have_text("")
    ids = page.locator("#notes > article").evaluate_all("notes => notes.map(n => n.id.slice(5))")
    assert ids[:3] == [missed[1], missed[0], before], "newest first, each once"
    after = api_note(cast, cast.ana, network, "Posted after coming back")
    expect(page.locator(f"#note-{after}")).to_have_count(1)
    # While the relay refused connections, Chromium and htmx (its htmx:wsError event) logged each failed
    # reconnection attempt, and the menu's unread count may have been fetched on a connection the relay then cut
    # (htmx:sendError, then htmx:afterRequest for the failed request): expected here, and nothing else may have
    # been logged.
    problems = request.node.stash.get(PROBLEMS, [])
    problems[:] = [
        p
        for p in problems
        if "WebSocket connection to" not in p
        and not p.endswith(".min.js: [object Event]")
        and not p.endswith("htmx:sendError, [object HTMLSpanElement]")
        and not p.endswith("htmx:afterRequest, [object HTMLSpanElement]")
        and not re.search(r"/notifications/unread: Failed to load resource: net::ERR_" + CUT_CONNECTION, p)
    ]
