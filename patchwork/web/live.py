"""The pages' own websocket at /live: htmx's ws extension swaps in HTML rendered for this viewer.

A page carries the cursor of the moment it was rendered; on every (re)connect its script sends that cursor back
(`{"type": "resume", "network": ..., "cursor": ...}`), and the page receives what it missed, in order, once, then
everything new. The notifications page follows all the viewer's networks and sends one cursor for each
(`{"type": "resume", "cursors": {network: cursor}}`). A page away too long is told to reload instead. Cookie sockets
check the Origin: another site's page cannot open one with the viewer's cookie.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment
from sqlmodel import Session
from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket

from patchwork import jsontext, policy
from patchwork.auth.csrf import csrf_token
from patchwork.errors import DomainError, Invalid, NotFound
from patchwork.events import MEMBER_EVENTS, NOTE_EVENTS, Batch, Fact
from patchwork.realtime import TOO_SLOW, Carry, Ended, Subscriber
from patchwork.runtime import Runtime
from patchwork.services import alerts, dashboard, networks, notes, notifications
from patchwork.services.notes.carried import Carried
from patchwork.web.board import Asked, load_board
from patchwork.web.filters import chronology_filters
from patchwork.web.middleware import CSRF_FIELD, header
from patchwork.web.viewer import Viewer
from patchwork.web.ws import MAX_NETWORKS, Live


class LiveView(StrEnum):
    """The page a /live socket serves (`?view=`): what it re-renders when an event arrives."""

    feed = "feed"
    note = "note"
    chronology = "chronology"
    network = "network"
    notifications = "notifications"
    home = "home"
    alert = "alert"


SEVERAL = frozenset({LiveView.notifications, LiveView.home})  # views that follow each of the viewer's networks
LONG_AWAY = 200
CLOSE_NOT_ALLOWED = 4403
TRY_AGAIN_LATER = 1013


class PageSubscriber(Subscriber):
    """Queues the event itself, a note event with its batch's notes: each page renders its own HTML for its
    viewer (the note read once for every page and stream of the process, not once per page)."""

    carries_notes = True

    def encode(self, batch: Batch, fact: Fact, viewer: policy.NoteViewer) -> Fact | Carry | str:
        if fact.type in NOTE_EVENTS and fact.note_id and batch.notes is not None:
            return Carry(fact, batch.notes, viewer, batch.history_rule)
        return fact

    def left(self, network_id: str) -> None:
        self.put(BANNER_LEFT)


BANNER_LEFT = "left"


class PageStream(Live):
    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        viewer: Viewer,
        view: LiveView,
        params: QueryParams,
        env: Environment,
    ) -> None:
        super().__init__(websocket, runtime, viewer, PageSubscriber(viewer.account.id))
        self.view = view
        self.params = params
        self.env = env
        self.network_id: str | None = None
        self.note_id = params.get("note")
        self.alert_id = params.get("alert")
        self.resumed = False
        self.csrf = csrf_token(runtime.settings.secret_key, "session:" + (viewer.session_id or ""))

    def close_code(self, ended: Ended) -> int:
        """A page that fell behind is closed with 1013 (try again later): htmx reconnects and resumes."""
        return TRY_AGAIN_LATER if ended is TOO_SLOW else ended.code

    def heartbeat(self) -> str:
        return ""  # htmx swaps nothing for an empty message; the socket stays warm through proxies

    async def handle(self, raw: str) -> None:
        try:
            frame = jsontext.loads(raw)
        except jsontext.MalformedJson:
            return
        if not isinstance(frame, dict) or frame.get("type") != "resume" or self.network_id is not None:
            return
        if self.view in SEVERAL:
            await self._resume_several(frame.get("cursors"))
            return
        network_id, cursor = frame.get("network"), frame.get("cursor")
        if not isinstance(network_id, str) or not isinstance(cursor, str):
            return
        try:
            found, seq, head = await self.position(network_id, cursor)
        except DomainError:
            self.subscriber.put(self._banner("stale"))
            return
        if head - seq > LONG_AWAY:
            self.subscriber.put(self._banner("away"))
            return
        self.network_id = found
        self.runtime.hub.follow(self.subscriber, found, seq)

    async def _resume_several(self, cursors: object) -> None:
        """The notifications and home pages follow each of the viewer's networks from the cursor they were
        rendered with (`{"type": "resume", "cursors": {network: cursor}}`), once."""
        if self.resumed or not isinstance(cursors, dict) or len(cursors) > MAX_NETWORKS:
            return
        self.resumed = True
        problem = None
        for network_id, cursor in cursors.items():
            if not isinstance(network_id, str) or not isinstance(cursor, str):
                continue
            try:
                found, seq, head = await self.position(network_id, cursor)
            except DomainError:
                problem = "stale"
                continue
            if head - seq > LONG_AWAY:
                problem = problem or "away"
                continue
            self.runtime.hub.follow(self.subscriber, found, seq)
        if problem is not None:
            self.subscriber.put(self._banner(problem))

    async def render(self, fact: Fact) -> str | None:
        text = await self._render(fact)
        if text is not None and fact.type in notifications.KINDS:
            # Something that may concern the viewer: the menu's unread count fetches itself again.
            text += self._template("_unread.html", refresh=True, oob=True)
        return text

    async def carried(self, item: Carry) -> str | None:
        """A note event with its batch's notes: a feed or the note's own page swaps in the note as this viewer is
        shown it now (nothing if they may no longer see it); any other page renders the event as it would."""
        fact = item.fact
        if not (self.view == LiveView.feed or (self.view == LiveView.note and fact.note_id == self.note_id)):
            return await self.render(fact)
        shown: Carried = item.notes.material
        found = shown.seen_by(item.viewer, fact.note_id or "", history_rule=item.history_rule)
        text = self._cursor(fact)
        if found is not None:
            text += self._note_html(found[1], into_feed=self.view == LiveView.feed and fact.type == "note.created")
        if fact.type in notifications.KINDS:
            text += self._template("_unread.html", refresh=True, oob=True)
        return text

    async def _render(self, fact: Fact) -> str | None:
        if self.view == LiveView.notifications:
            return self._notification_cursor(fact) + await self._notification(fact)
        if self.view == LiveView.home:
            return self._notification_cursor(fact) + await self._my_networks() + await self._dashboard()
        if self.view == LiveView.alert:
            return self._cursor(fact) + (await self._alert() if fact.data.get("alert_id") == self.alert_id else "")
        if fact.type in MEMBER_EVENTS:
            return self._cursor(fact) + (await self._network() if self.view == LiveView.network else "")
        if fact.type not in NOTE_EVENTS:
            return self._cursor(fact)
        if self.view == LiveView.feed:
            return self._cursor(fact) + await self._note(fact, into_feed=fact.type == "note.created")
        if self.view == LiveView.note and fact.note_id == self.note_id:
            return self._cursor(fact) + await self._note(fact, into_feed=False)
        if self.view == LiveView.chronology:
            return self._cursor(fact) + await self._chronology()
        return self._cursor(fact)

    async def send_text(self, text: str) -> None:
        if text == BANNER_LEFT:
            # One network of several going away leaves the notifications page out of date, not dead.
            text = self._banner("stale" if self.view in SEVERAL else "left")
        await super().send_text(text)

    def _template(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(
            csrf_token=self.csrf, csrf_field=CSRF_FIELD, viewer=self.viewer, **context
        )

    def _cursor(self, fact: Fact) -> str:
        return self._template("live/_cursor.html", network_id=fact.network_id, cursor=fact.cursor)

    def _banner(self, reason: str) -> str:
        return self._template("live/_banner.html", reason=reason)

    def _notification_cursor(self, fact: Fact) -> str:
        return self._template(
            "live/_notification_cursor.html", network_id=fact.network_id, cursor=fact.cursor, oob=True
        )

    async def _notification(self, fact: Fact) -> str:
        if fact.type not in notifications.KINDS:
            return ""
        rt, account = self.runtime, self.viewer.account
        item = await rt.db.run(
            lambda session: notifications.one(
                session=session, keys=rt.keys, account=account, network_id=fact.network_id, seq=fact.seq
            )
        )
        return self._template("live/_notification.html", item=item) if item is not None else ""

    async def _my_networks(self) -> str:
        """The home page's table again: a note moves its network's last activity (and the order), a member joining
        or leaving changes its people, a lead change or closing its tags."""
        rt, actor = self.runtime, self.viewer.actor
        mine = await rt.db.run(lambda session: networks.my_networks(session=session, keys=rt.keys, actor=actor))
        return self._template("_my_networks.html", networks=mine, oob=True)

    async def _alert(self) -> str:
        """An alert's page: its state and what has been done, as this viewer is shown it now (gone if not)."""
        rt, account, alert_id = self.runtime, self.viewer.account, self.alert_id or ""
        try:
            view = await rt.db.run(
                lambda session: alerts.get(
                    session=session,
                    keys=rt.keys,
                    account=account,
                    alert_id=alert_id,
                    thresholds=rt.settings.alert_thresholds,
                )
            )
        except DomainError:
            return self._banner("left")
        return self._template("alerts/_summary.html", view=view, outcomes=alerts.OUTCOME_LABELS, oob=True)

    async def account_rang(self) -> None:
        """An organisation admin's home page: an escalation or no lead alert of theirs was raised or changed."""
        if self.view != LiveView.home or not self.viewer.account.is_org_admin:
            return
        rt, account = self.runtime, self.viewer.account
        shown = await rt.db.run(
            lambda session: alerts.for_admin(
                session=session, keys=rt.keys, account=account, thresholds=rt.settings.alert_thresholds
            )
        )
        self.subscriber.put(self._template("_admin_alerts.html", admin_alerts=shown, oob=True))

    async def _dashboard(self) -> str:
        """A lead's dashboard again, as the page asked for it (sort, filter, page): alerts, what awaits them,
        counts and charts all move with a note or an alert."""
        rt, account, asked = self.runtime, self.viewer.account, Asked.of(self.params)
        board = await rt.db.run(lambda session: load_board(session, rt, account, asked))
        if not board.leads_any:
            return ""
        return self._template("_dashboard.html", board=board, sorts=dashboard.SORTS, oob=True)

    async def _note(self, fact: Fact, *, into_feed: bool) -> str:
        rt, account, note_id = self.runtime, self.viewer.account, fact.note_id or ""

        def load(session: Session) -> notes.NoteView | None:
            try:
                return notes.one_note(session=session, keys=rt.keys, account=account, note_id=note_id)
            except NotFound:  # changed again since: the next event brings its state
                return None

        item = await rt.db.run(load)
        return "" if item is None else self._note_html(item, into_feed=into_feed)

    def _note_html(self, item: notes.NoteView, *, into_feed: bool) -> str:
        return_to = "feed" if self.view == LiveView.feed else "note"
        return self._template("live/_note.html", item=item, return_to=return_to, into_feed=into_feed)

    async def _network(self) -> str:
        rt, actor, network_id = self.runtime, self.viewer.actor, self.network_id or ""

        def load(session: Session) -> networks.NetworkView | None:
            try:
                return networks.view_network(
                    session=session, keys=rt.keys, actor=actor, network_id=network_id, audited=False
                )
            except NotFound:  # no longer a member: the subscriber says so
                return None

        view = await rt.db.run(load)
        return "" if view is None else self._template("live/_network.html", view=view)

    async def _chronology(self) -> str:
        rt, account, network_id = self.runtime, self.viewer.account, self.network_id or ""
        try:
            filters = chronology_filters(self.params)
        except Invalid:
            return ""

        def load(session: Session) -> list[notes.NoteView]:
            return notes.chronology(
                session=session, keys=rt.keys, account=account, network_id=network_id, filters=filters
            )

        rows = await rt.db.run(load)
        filtered = bool(filters.categories or filters.levels or filters.organisation_ids)
        filtered = filtered or bool(filters.observed_from or filters.observed_to)
        return self._template("live/_chronology.html", rows=rows, filtered=filtered)


def same_origin(websocket: WebSocket) -> bool:
    origin = header(websocket.scope, b"origin")
    host = header(websocket.scope, b"host")
    return bool(origin and host) and urlsplit(origin or "").netloc == host


def _live_view(name: str) -> LiveView | None:
    try:
        return LiveView(name)
    except ValueError:
        return None


async def page_stream(websocket: WebSocket) -> None:
    viewer: Viewer | None = websocket.scope["state"].get("viewer")
    view = _live_view(websocket.query_params.get("view", ""))
    if viewer is None or viewer.second_factor_pending or viewer.second_factor_missing or viewer.session_id is None:
        await websocket.close(CLOSE_NOT_ALLOWED, "Sign in first")
        return
    if not same_origin(websocket) or view is None:
        await websocket.close(CLOSE_NOT_ALLOWED, "Not allowed")
        return
    runtime: Runtime = websocket.scope["state"]["runtime"]
    env: Environment = websocket.app.state.templates.env
    stream = PageStream(websocket, runtime, viewer, view, websocket.query_params, env)
    await stream.run()
