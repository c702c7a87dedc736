"""Live delivery in one process. The broker rings doorbells (network ids, account doorbells); for a network, the
hub reads its new events once, with the current standing of every account that follows it, and offers the batch
to each subscriber, which asks the policy for its own viewer and queues what it may see. The broker carries only
facts; the outbox in the database is the record, so a lost doorbell costs only a little delay.

A commit's doorbell announces its events with their note's facts. When the hub already has everything before
them, and the standing of every follower as of its last read, it delivers them without reading them back. Every
change of standing in a network is itself an event of that network, read back in order (never taken from the
announcement), so the standing the hub holds is the current one; an account's doorbell (deactivation, signing
out) or a restart of the listener drops it, and it is read again at most `STANDING_SECONDS` later in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from patchwork import policy
from patchwork.bus import Broker
from patchwork.events import (
    NOTE_EVENTS,
    Announced,
    Batch,
    Fact,
    NoteLoader,
    SharedNotes,
    announcement_message,
    follows,
    visible,
)
from patchwork.outbox import ACCOUNT_DOORBELL

log = logging.getLogger("patchwork.realtime")
CHANNEL = "network-events"
RESTART_SECONDS = 1.0
RETRY_SECONDS = 1.0
QUEUE_SIZE = 1000
STANDING_SECONDS = 60.0  # a safety net: every change of standing already reaches the hub as an event or a doorbell

Reader = Callable[[str, int, frozenset[str]], Awaitable[Batch]]
Sealer = Callable[[str, int], str]
Forgetter = Callable[[str | None], None]


@dataclass(frozen=True)
class Carry:
    """A visible note event queued for a connection whose frames carry the note: rendered when it is sent, from
    the batch's notes, for the viewer as the batch found them."""

    fact: Fact
    notes: SharedNotes
    viewer: policy.NoteViewer
    history_rule: str


@dataclass(frozen=True)
class Followers:
    """What the hub's last read of a network found of its followers: enough to deliver announced note events."""

    history_rule: str
    viewers: dict[str, policy.NoteViewer]
    asked: frozenset[str]
    until: float


class Ended(Exception):
    """A subscription was ended by the server: its connection closes with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


TOO_SLOW = Ended(4408, "Too slow: resume from your last cursor")
SIGNED_OUT = Ended(4403, "The account or its sign-in is no longer valid")


class Subscriber:
    """One live connection's view of the hub: the last sequence handled per followed network, and a bounded
    queue of what its viewer may see. A subscriber that falls a whole queue behind is ended (TOO_SLOW)."""

    queue_size = QUEUE_SIZE
    carries_notes = False  # whether this subscriber's frames carry a note event's note (see Hub._with_notes)

    def __init__(self, account_id: str, *, queue_size: int | None = None) -> None:
        self.account_id = account_id
        self.positions: dict[str, int] = {}
        self.queue: asyncio.Queue[Fact | Carry | str] = asyncio.Queue(queue_size or self.queue_size)
        self.ended: Ended | None = None
        self.holding = False  # while True the hub offers this subscriber nothing; `Hub.release` ends it
        self.ending = asyncio.Event()
        self.recheck = asyncio.Event()
        self._live_from: dict[str, int] = {}
        self._sent_live: dict[str, tuple[int, int]] = {}

    def end(self, why: Ended) -> None:
        if self.ended is None:
            self.ended = why
            self.ending.set()
            self.recheck.set()  # wakes the connection's guard, which then closes it

    def put(self, item: Fact | Carry | str) -> bool:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.end(TOO_SLOW)
            return False
        return True

    def rewind(self, network_id: str, position: int) -> None:
        """Go back to `position` (a resume): what this connection already sent live is not sent twice."""
        current = self.positions.get(network_id)
        if current is None:
            self._live_from[network_id] = position
        elif position < current:
            self._sent_live[network_id] = (max(self._live_from[network_id], position), current)
        self.positions[network_id] = position

    def offer(self, batch: Batch) -> bool:
        """Take what this viewer may see from the batch. False when the batch starts after our position (we
        rewound while it was being read): the hub reads again from our position."""
        position = self.positions.get(batch.network_id)
        if position is None or self.ended is not None or batch.last <= position:
            return True
        if position < batch.after:
            return False
        viewer = batch.viewers.get(self.account_id)
        if viewer is None:
            self.end(SIGNED_OUT)
            return True
        if not follows(viewer):
            self.positions.pop(batch.network_id, None)
            self.left(batch.network_id)
            return True
        low, high = self._sent_live.get(batch.network_id, (0, 0))
        for fact in batch.facts:
            if fact.seq <= position or low < fact.seq <= high:
                continue
            if visible(viewer, fact, history_rule=batch.history_rule) and not self.put(
                self.encode(batch, fact, viewer)
            ):
                return True
        self.positions[batch.network_id] = batch.last
        return True

    def encode(self, batch: Batch, fact: Fact, viewer: policy.NoteViewer) -> Fact | Carry | str:
        """What goes on the queue for a visible event: by default the shared JSON frame."""
        return batch.frame(fact)

    def left(self, network_id: str) -> None:
        """The viewer no longer belongs to this network: nothing more of it reaches this connection."""


class Hub:
    def __init__(
        self,
        broker: Broker,
        read: Reader,
        seal: Sealer,
        *,
        forget: Forgetter | None = None,
        load_notes: NoteLoader | None = None,
    ) -> None:
        """`forget(account_id)` is told whenever what is held about an account may be stale (its doorbell rang
        here or in another process), and `forget(None)` when anything may be (the listener restarted).
        `load_notes(network_id, note_ids)` reads notes for connections whose frames carry them (SharedNotes)."""
        self._broker = broker
        self._read = read
        self._seal = seal
        self._load_notes = load_notes
        self._also_forget = forget
        self._followers: dict[str, Followers] = {}
        self._generation = 0  # moves whenever standings are dropped: a read begun before may not store its own
        self._by_network: dict[str, set[Subscriber]] = {}
        self._by_account: dict[str, set[Subscriber]] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._delivering: dict[str, int] = {}  # the last sequence of an announced batch being offered, by network
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.listening = asyncio.Event()

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def subscribers(self) -> int:
        return sum(len(group) for group in self._by_account.values())

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="patchwork-hub")

    async def stop(self) -> None:
        self._stopped = True  # no read starts after this, not even a retry scheduled before
        tasks = [task for task in (self._task, *self._readers.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add(self, subscriber: Subscriber) -> None:
        self._by_account.setdefault(subscriber.account_id, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        _discard(self._by_account, subscriber.account_id, subscriber)
        for network_id in list(subscriber.positions):
            _discard(self._by_network, network_id, subscriber)

    def follow(self, subscriber: Subscriber, network_id: str, position: int) -> None:
        """Deliver this network's events after `position` to the subscriber, then everything new."""
        subscriber.rewind(network_id, position)
        self._by_network.setdefault(network_id, set()).add(subscriber)
        self.poke(network_id)

    def hold(self, subscriber: Subscriber) -> None:
        """Offer this subscriber nothing until `release`: its positions stay where they are."""
        subscriber.holding = True

    def release(self, subscriber: Subscriber) -> None:
        """Deliver to a held subscriber again, from each position it holds (a resume may have moved them)."""
        if not subscriber.holding:
            return
        subscriber.holding = False
        if subscriber not in self._by_account.get(subscriber.account_id, ()):
            return  # its connection has closed
        for network_id, position in list(subscriber.positions.items()):
            self.follow(subscriber, network_id, position)

    async def ring(self, rung: Mapping[str, list[dict[str, Any]]]) -> None:
        """Called after a commit: tell every process what changed, and announce its events. This process's own
        sockets are given announced events at once, and have sent them before the caller goes on (its answer
        then follows its news, and the next request does not wait behind it); hearing the same announcement
        back from the broker finds nothing new."""
        delivered = False
        offered: list[asyncio.Future[None]] = []
        for doorbell, announced in rung.items():
            if doorbell.startswith(ACCOUNT_DOORBELL):
                self._forget(doorbell.removeprefix(ACCOUNT_DOORBELL))  # here at once; elsewhere by the broker
            if announced:
                try:
                    being = self._announced(Announced.of(doorbell, announced))
                    if being is not None:
                        offered.append(being)
                    delivered = True
                except Exception:  # the change is committed: the broker's copy of the message is delivered instead
                    log.exception("realtime.local_delivery_failed")
            try:
                await self._broker.publish(
                    CHANNEL, announcement_message(doorbell, announced) if announced else doorbell
                )
            except Exception:  # the outbox has the events; subscribers catch up on the next doorbell or resume
                log.warning("realtime.publish_failed", exc_info=True)
        if offered:
            await asyncio.wait(offered)
        if delivered:
            await asyncio.sleep(0)

    def poke(self, network_id: str) -> None:
        if self._stopped or network_id not in self._by_network:
            return
        if network_id in self._readers:
            self._dirty.add(network_id)
            return
        self._readers[network_id] = asyncio.create_task(self._drain(network_id), name="patchwork-drain")

    async def _drain(
        self,
        network_id: str,
        first: tuple[Batch, list[Subscriber]] | None = None,
        delivered: asyncio.Future[None] | None = None,
    ) -> None:
        """Read and offer until every follower has everything; `first` is an announced batch, judged already,
        to offer before reading anything, and `delivered` is told once it has been."""
        try:
            while True:
                self._dirty.discard(network_id)
                if first is not None:
                    (batch, group), first = first, None
                else:
                    group = self._group(network_id)
                    if not group:
                        self._by_network.pop(network_id, None)
                        self._followers.pop(network_id, None)
                        return
                    after = min(s.positions[network_id] for s in group)
                    asked = frozenset(s.account_id for s in group)
                    generation = self._generation
                    batch = await self._read(network_id, after, asked)
                    if generation == self._generation:
                        until = asyncio.get_running_loop().time() + STANDING_SECONDS
                        self._followers[network_id] = Followers(batch.history_rule, batch.viewers, asked, until)
                await self._with_notes(network_id, group, batch)
                again = self._offer(network_id, group, batch) or batch.more
                if delivered is not None and not delivered.done():
                    delivered.set_result(None)
                if not again and network_id not in self._dirty:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("realtime.read_failed")
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self.poke, network_id)
        finally:
            if delivered is not None and not delivered.done():
                delivered.set_result(None)
            self._readers.pop(network_id, None)
            self._delivering.pop(network_id, None)

    async def _with_notes(self, network_id: str, group: list[Subscriber], batch: Batch) -> None:
        """Read the batch's notes first when a subscriber's frames carry them: once for all, and each connection
        is then woken once, with its note in hand."""
        if batch.notes is not None or not any(s.carries_notes for s in group):
            return
        if not _behind(group, network_id, batch.last):
            return
        notes = {f.note_id: f.note for f in batch.facts if f.type in NOTE_EVENTS and f.note_id}
        if notes and self._load_notes is not None:
            batch.notes = SharedNotes(network_id, await self._load_notes(network_id, notes))

    def _group(self, network_id: str) -> list[Subscriber]:
        return [s for s in self._by_network.get(network_id, ()) if network_id in s.positions and not s.holding]

    def _offer(self, network_id: str, group: list[Subscriber], batch: Batch) -> bool:
        """Offer a batch to each subscriber; True when one of them needs the network read again from earlier."""
        again = False
        for subscriber in group:
            if not subscriber.offer(batch):
                again = True
            if network_id not in subscriber.positions:
                _discard(self._by_network, network_id, subscriber)
        return again

    def _announced(self, announced: Announced) -> asyncio.Future[None] | None:
        """Deliver announced events without reading the outbox when nothing stands in the way (their notes are
        read first if a subscriber's frames carry them); otherwise read them. Returns what tells when the
        announced events have been offered, if they are being delivered so."""
        network_id = announced.network_id
        if self._stopped or network_id not in self._by_network:
            return None
        group = self._group(network_id)
        last = max((seq for seq, *_ in announced.events), default=0)
        if self._delivering.get(network_id, 0) >= last or not _behind(group, network_id, last):
            return None  # this announcement again (the broker's copy of our own): it is being or has been offered
        batch = None if network_id in self._readers else self._batch_of(announced, group)
        if batch is None:
            self.poke(network_id)
            return None
        self._delivering[network_id] = last
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._readers[network_id] = asyncio.create_task(
            self._drain(network_id, (batch, group), delivered), name="patchwork-deliver"
        )
        return delivered

    def _batch_of(self, announced: Announced, group: list[Subscriber]) -> Batch | None:
        """The announced events as a batch, with the standing held from the last read, if that standing is fresh
        and covers every follower (see announced_batch)."""
        standing = self._followers.get(announced.network_id)
        if standing is None or standing.until < asyncio.get_running_loop().time():
            return None
        if any(s.account_id not in standing.asked for s in group):
            return None
        return announced_batch(announced, standing, self._seal)

    def _forget(self, account_id: str | None = None) -> None:
        """Drop the standings held (of networks this account follows, or all): the next event reads them again."""
        self._generation += 1
        if self._also_forget is not None:
            self._also_forget(account_id)
        if account_id is None:
            self._followers.clear()
            return
        for network_id in [n for n, standing in self._followers.items() if account_id in standing.asked]:
            del self._followers[network_id]

    def _wake(self, message: str) -> None:
        if message.startswith(ACCOUNT_DOORBELL):
            account_id = message.removeprefix(ACCOUNT_DOORBELL)
            self._forget(account_id)
            for subscriber in list(self._by_account.get(account_id, ())):
                subscriber.recheck.set()
        elif message.startswith("{"):
            announced = Announced.decode(message)
            if announced is None:
                log.warning("realtime.unreadable_announcement")
            else:
                self._announced(announced)
        else:
            self.poke(message)

    async def _supervise(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("realtime.listener_failed")
            self.listening.clear()
            await asyncio.sleep(RESTART_SECONDS)

    async def _listen(self) -> None:
        async with self._broker.subscribe(CHANNEL) as messages:
            self.listening.set()
            # Whatever was rung while the listener was down is in the outbox: look at every followed network,
            # and take no standing held from before for granted.
            self._forget()
            for network_id in list(self._by_network):
                self.poke(network_id)
            for group in self._by_account.values():
                for subscriber in group:
                    subscriber.recheck.set()
            async for message in messages:
                self._wake(message)


def announced_batch(announced: Announced, followers: Followers, seal: Sealer) -> Batch | None:
    """Announced events as a batch judged with the followers the hub holds: None unless they are all note events
    with their note's facts, in an unbroken run (anything else must be read back from the outbox)."""
    network_id = announced.network_id
    facts: list[Fact] = []
    for seq, type_, data, note in announced.events:
        if type_ not in NOTE_EVENTS or note is None or (facts and seq != facts[-1].seq + 1):
            return None
        facts.append(Fact(network_id, seq, seal(network_id, seq), type_, data, note))
    if not facts:
        return None
    first, last = facts[0].seq, facts[-1].seq
    batch = Batch(network_id, first - 1, last, last, followers.history_rule, facts, followers.viewers)
    prepared = [announced.prepared.get(fact.seq) for fact in facts]
    if len(facts) == 1 and prepared[0] is not None:  # its commit's own process: the note as it was written
        batch.notes = SharedNotes(network_id, prepared[0])
    return batch


def _behind(group: list[Subscriber], network_id: str, last: int) -> bool:
    """Whether any of these subscribers has yet to be offered events up to `last` of the network."""
    return any(s.positions.get(network_id, last) < last for s in group)


def _discard(index: dict[str, set[Subscriber]], key: str, subscriber: Subscriber) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(subscriber)
        if not group:
            del index[key]
