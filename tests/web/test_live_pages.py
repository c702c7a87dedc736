"""The pages' live socket: HTML rendered for each viewer, resume from the page's cursor, banners, and refusals."""

from __future__ import annotations

import html
import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from patchwork.models.networks import Involvement, InvolvementStatus
from patchwork.web import live
from patchwork.web.middleware import SESSION_COOKIE
from tests.helpers import csrf_from
from tests.web import test_note_pages
from tests.web.test_note_pages import Site, note_form

site = test_note_pages.site  # the fixture: a network with Helen (lead), Tom, Joe, an outsider and a mother
ORIGIN = {"origin": "http://testserver"}
CURSOR = re.compile(r'id="live-cursor" hidden data-cursor="([^"]+)"')
CONNECT = re.compile(r'ws-connect="([^"]+)"')


class Page:
    """A page open in a test browser, with its live socket read in a thread so a test can wait with a timeout."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.messages: queue.Queue[str | Exception] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.messages.put(self.socket.receive_text())
            except Exception as error:  # closed: hand the reason to the test
                self.messages.put(error)
                return

    def next(self, seconds: float = 5.0) -> str:
        while True:
            message = self.messages.get(timeout=seconds)
            if isinstance(message, Exception):
                raise message
            if message:  # an empty message is a heartbeat
                return message

    def until(self, text: str, seconds: float = 5.0) -> str:
        while text not in (message := self.next(seconds)):
            pass
        return message

    def nothing_for(self, seconds: float) -> bool:
        try:
            message = self.messages.get(timeout=seconds)
        except queue.Empty:
            return True
        return message == ""


@dataclass
class Browser:
    """One person's browser on the shared test server: every request carries their session cookie. (Each
    TestClient runs its own app lifespan, hence its own hub: live tests need one server for everyone.)"""

    server: TestClient
    cookie: str

    def get(self, path: str) -> Any:
        return self.server.get(path, headers={"cookie": self.cookie})

    def post_form(self, path: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
        token = csrf_from(self.get(token_from or path).text)
        return self.server.post(
            path, data={"csrf_token": token, **data}, headers={"cookie": self.cookie}, follow_redirects=False
        )

    def websocket_connect(self, address: str, headers: dict[str, str]) -> Any:
        return self.server.websocket_connect(address, headers={**headers, "cookie": self.cookie})


@dataclass
class Town:
    site: Site
    browsers: dict[str, Browser]

    def __getitem__(self, who: str) -> Browser:
        return self.browsers[who]

    @property
    def feed(self) -> str:
        return self.site.feed


@pytest.fixture
def town(site: Site) -> Iterator[Town]:
    with TestClient(site["nurse"].app) as server:
        browsers = {
            who: Browser(server, f"{SESSION_COOKIE}={site[who].cookies.get(SESSION_COOKIE)}")
            for who in ("nurse", "teacher", "officer", "outsider", "mother")
        }
        yield Town(site=site, browsers=browsers)


def opened(browser: Browser, path: str) -> tuple[str, str, str]:
    """Open a page: its live socket address, network and cursor, as the page's script would send them."""
    page = browser.get(path)
    assert page.status_code == 200, page.text
    network = re.search(r'id="live"[^>]*data-network="([^"]+)"', page.text)
    cursor, connect = CURSOR.search(page.text), CONNECT.search(page.text)
    assert network and cursor and connect, "the page carries its live connection"
    return html.unescape(connect.group(1)), network.group(1), cursor.group(1)


def resumed(socket: Any, network: str, cursor: str) -> Page:
    """What the page's script does on every (re)connect: send its cursor back, then listen."""
    socket.send_json({"type": "resume", "network": network, "cursor": cursor})
    return Page(socket)


@contextmanager
def live_page(browser: Browser, path: str, cursor: str | None = None) -> Iterator[Page]:
    address, network, page_cursor = opened(browser, path)
    with browser.websocket_connect(address, headers=ORIGIN) as socket:
        yield resumed(socket, network, cursor or page_cursor)


def post(town: Town, who: str, **overrides: Any) -> str:
    site = town.site
    answer = town[who].post_form(site.new, note_form(**overrides), token_from=site.new)
    assert answer.status_code == 303, answer.text
    return site.notes()[-1].id


def test_a_note_appears_on_the_open_feeds_of_exactly_those_who_may_see_it(town: Town) -> None:
    with live_page(town["teacher"], town.feed) as teacher, live_page(town["officer"], town.feed) as officer:
        for_school = post(
            town,
            "nurse",
            body="Hungry at breakfast club",
            audience="organisations",
            organisation_ids=[town.site.organisations["school"]],
        )
        message = teacher.until("Hungry at breakfast club")
        assert 'hx-swap-oob="afterbegin:#notes"' in message and f'id="note-{for_school}"' in message
        assert 'id="live-cursor"' in message, "the page's cursor moves on with each update"
        everyone = post(town, "nurse", body="Collected by an unknown adult")
        assert "Collected by an unknown adult" in officer.until(f"note-{everyone}")
        assert "Hungry at breakfast club" not in str(list(officer.messages.queue))
        assert "Collected by an unknown adult" in teacher.until(f"note-{everyone}")


def test_each_viewer_gets_their_own_rendering(town: Town) -> None:
    with live_page(town["nurse"], town.feed) as nurse, live_page(town["teacher"], town.feed) as teacher:
        post(town, "teacher", body="Tired all week")
        mine = teacher.until("Tired all week")
        theirs = nurse.until("Tired all week")
        assert "Revise" in mine and "Revise" not in theirs, "only the author may revise"
        assert "Acknowledge" in theirs and "Acknowledge<" not in mine.replace("Acknowledged", "")
        assert 'name="csrf_token"' in theirs


def test_a_page_resumes_from_its_cursor_in_order_once(town: Town) -> None:
    address, network, cursor = opened(town["officer"], town.feed)
    first = post(town, "nurse", body="First while away")
    second = post(town, "nurse", body="Second while away")
    with town["officer"].websocket_connect(address, headers=ORIGIN) as socket:
        page = resumed(socket, network, cursor)
        replayed = [page.next(), page.next()]
        assert f"note-{first}" in replayed[0] and "First while away" in replayed[0]
        assert f"note-{second}" in replayed[1] and "Second while away" in replayed[1]
        assert page.nothing_for(0.5), "nothing is sent twice"
        later = post(town, "nurse", body="Back now")
        assert f"note-{later}" in page.until("Back now")


def test_replayed_updates_arrive_in_the_order_they_happened(town: Town) -> None:
    address, network, cursor = opened(town["officer"], town.feed)
    posted = [post(town, "nurse", body=f"Away {n}") for n in range(3)]
    with town["officer"].websocket_connect(address, headers=ORIGIN) as socket:
        page = resumed(socket, network, cursor)
        seen = [re.search(r'id="note-([0-9a-f-]+)"', page.next()) for _ in posted]
        assert [m.group(1) if m else None for m in seen] == posted


def test_changes_to_a_note_replace_it_on_its_page(town: Town) -> None:
    note_id = post(town, "teacher", body="Bruise on the left arm", category="injury", level="concern")
    with live_page(town["nurse"], f"/notes/{note_id}") as nurse:
        revised = town["teacher"].post_form(
            f"/notes/{note_id}/revise", {"body": "Bruise on the left forearm"}, token_from=f"/notes/{note_id}/revise"
        )
        assert revised.status_code == 303
        message = nurse.until("left forearm")
        assert f'id="note-{note_id}"' in message and 'hx-swap-oob="true"' in message
        assert "Edited" in message


def test_a_member_removed_while_the_page_is_open_is_told_and_receives_nothing_more(town: Town) -> None:
    with live_page(town["officer"], town.feed) as officer:
        assert _end_involvement(town, "officer")
        assert 'data-reason="left"' in officer.until("data-reason")
        post(town, "nurse", body="After the officer left")
        assert officer.nothing_for(1.0)


def _end_involvement(town: Town, who: str) -> bool:
    site = town.site
    with site.world.db.transaction() as session:
        involvement = session.exec(
            select(Involvement).where(
                Involvement.network_id == site.network_id,
                Involvement.account_id == town.site.ids[who],
                Involvement.status == InvolvementStatus.active,
            )
        ).one()
        involvement_id = involvement.id
    page = f"/networks/{site.network_id}"
    answer = town["nurse"].post_form(
        f"{page}/involvements/{involvement_id}/end", {"reason": "No longer works with the child"}, token_from=page
    )
    return answer.status_code == 303


def test_a_family_member_sees_live_only_what_is_shared_with_them(town: Town) -> None:
    with live_page(town["mother"], town.feed) as mother:
        post(town, "nurse", body="Not for the family")
        shared = post(town, "nurse", body="Shared with Sarah", family_user_ids=[town.site.ids["mother"]])
        message = mother.until(f"note-{shared}")
        assert "Shared with Sarah" in message
        assert "Not for the family" not in message + str(list(mother.messages.queue))


def test_a_page_away_too_long_is_asked_to_reload(town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "LONG_AWAY", 2)
    address, network, cursor = opened(town["officer"], town.feed)
    for n in range(3):
        post(town, "nurse", body=f"While asleep {n}")
    with town["officer"].websocket_connect(address, headers=ORIGIN) as socket:
        page = resumed(socket, network, cursor)
        message = page.next()
        assert 'data-reason="away"' in message and "Reload the page" in message
        assert "While asleep" not in message


def test_a_cursor_for_a_network_one_may_not_see_gets_only_the_reload_banner(town: Town) -> None:
    _, network, cursor = opened(town["officer"], town.feed)
    with town["outsider"].websocket_connect("/live?view=feed", headers=ORIGIN) as socket:
        page = resumed(socket, network, cursor)
        assert 'data-reason="stale"' in page.next()
        post(town, "nurse", body="Not for outsiders")
        assert page.nothing_for(1.0)


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {}, {"origin": "null"}],
    ids=["another site", "no origin", "null origin"],
)
def test_a_cookie_socket_from_another_origin_is_refused(town: Town, headers: dict[str, str]) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        town["teacher"].websocket_connect("/live?view=feed", headers=headers) as socket,
    ):
        socket.receive_text()
    assert refused.value.code == live.CLOSE_NOT_ALLOWED


def test_without_signing_in_the_socket_is_refused(town: Town) -> None:
    stranger = Browser(town["teacher"].server, "")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        stranger.websocket_connect("/live?view=feed", headers=ORIGIN) as socket,
    ):
        socket.receive_text()
    assert refused.value.code == live.CLOSE_NOT_ALLOWED


def test_garbage_frames_change_nothing(town: Town) -> None:
    address, network, cursor = opened(town["teacher"], town.feed)
    with town["teacher"].websocket_connect(address, headers=ORIGIN) as socket:
        for junk in ("not json", "[]", '{"type": "resume", "network": 5}', '{"type": "other"}'):
            socket.send_text(junk)
        page = resumed(socket, network, cursor)
        note_id = post(town, "nurse", body="Still delivered")
        assert f"note-{note_id}" in page.until("Still delivered")


def test_the_family_view_updates_live_with_what_is_shared_with_them(town: Town) -> None:
    with live_page(town["mother"], f"/family/networks/{town.site.network_id}") as mother:
        post(town, "nurse", body="Still not for the family")
        shared = post(town, "nurse", body="For Sarah to see", family_user_ids=[town.site.ids["mother"]])
        message = mother.until(f"note-{shared}")
        assert "For Sarah to see" in message and 'hx-swap-oob="afterbegin:#notes"' in message
        assert "Still not for the family" not in message + str(list(mother.messages.queue))


def test_the_network_page_shows_who_joins_and_leaves_as_it_happens(town: Town) -> None:
    network_page = f"/networks/{town.site.network_id}"
    with live_page(town["teacher"], network_page) as teacher:
        joined = town["outsider"].post_form(
            f"{network_page}/involvements",
            {"role_label": "Housing officer", "reason": "The family's tenancy"},
            token_from=f"{network_page}/join",
        )
        assert joined.status_code == 303, joined.text
        message = teacher.until("Ann Lee")
        assert 'id="network-members" hx-swap-oob="true"' in message and "Housing officer" in message
        assert _end_involvement(town, "officer")
        message = teacher.until("network-members")
        assert "Joe Bennett" not in message and "Ann Lee" in message


def test_a_page_that_falls_behind_is_closed_to_reconnect_and_resume(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live.PageSubscriber, "queue_size", 2)
    address, network, cursor = opened(town["officer"], town.feed)
    for n in range(4):
        post(town, "nurse", body=f"Piling up {n}")
    with town["officer"].websocket_connect(address, headers=ORIGIN) as socket:
        page = resumed(socket, network, cursor)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                page.next()
        assert closed.value.code == live.TRY_AGAIN_LATER, "htmx reconnects after 1013 and the page resumes"


def test_a_deeply_nested_frame_is_ignored_and_the_page_still_resumes(town: Town) -> None:
    address, network, cursor = opened(town["officer"], town.feed)
    with town["officer"].websocket_connect(address, headers=ORIGIN) as socket:
        socket.send_text("[" * 30_000 + "]" * 30_000)
        page = resumed(socket, network, cursor)
        post(town, "nurse", body="After the deep frame")
        assert "After the deep frame" in page.until("After the deep frame")
