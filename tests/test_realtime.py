"""A live subscriber on its own: what it takes from a batch for its viewer, its bounded queue, rewinds; and what an
announcement from the broker may be delivered as without a read."""

from __future__ import annotations

import json
from datetime import timedelta

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.events import Announced, Batch, Fact, announcement, announcement_message
from patchwork.realtime import SIGNED_OUT, TOO_SLOW, Followers, Subscriber, announced_batch

NETWORK = "net-1"
JOINED = utcnow() - timedelta(days=1)


def viewer(account_id: str, *, member: bool = True, is_lead: bool = False) -> policy.NoteViewer:
    return policy.NoteViewer(
        account_id=account_id,
        kind="practitioner",
        member=member,
        organisation_id="org" if member else None,
        joined_at=JOINED if member else None,
        is_lead=is_lead,
        history_opened=False,
        family_member=False,
    )


def note(
    audience: str = "network", people: frozenset[str] = frozenset(), family: frozenset[str] = frozenset()
) -> policy.NoteFacts:
    return policy.NoteFacts(
        author_id="author",
        kind="practitioner",
        audience=audience,
        audience_organisations=frozenset(),
        audience_people=people,
        family_shares=family,
        created_at=utcnow(),
    )


def batch(after: int, audiences: list[str], viewers: dict[str, policy.NoteViewer]) -> Batch:
    facts = [
        Fact(NETWORK, after + n + 1, f"c{after + n + 1}", "note.created", {"note_id": f"n{after + n + 1}"}, note(a))
        for n, a in enumerate(audiences)
    ]
    last = after + len(audiences)
    return Batch(NETWORK, after, last, last, "from_joining", facts, viewers)


def sent(subscriber: Subscriber) -> list[str]:
    frames = []
    while not subscriber.queue.empty():
        item = subscriber.queue.get_nowait()
        assert isinstance(item, str)
        frames.append(json.loads(item)["data"]["note_id"])
    return frames


def test_a_subscriber_queues_only_what_its_viewer_may_see_and_moves_on() -> None:
    subscriber = Subscriber("member")
    subscriber.positions[NETWORK] = 0
    assert subscriber.offer(batch(0, ["network", "lead", "network"], {"member": viewer("member")}))
    assert sent(subscriber) == ["n1", "n3"]
    assert subscriber.positions[NETWORK] == 3, "the lead-only event is passed over, not waited for"
    assert subscriber.offer(batch(0, ["network", "lead", "network"], {"member": viewer("member")}))
    assert sent(subscriber) == [], "an event already handled is never sent twice"


def test_a_batch_that_starts_after_the_subscriber_is_refused_so_nothing_is_skipped() -> None:
    subscriber = Subscriber("member")
    subscriber.positions[NETWORK] = 1
    assert not subscriber.offer(batch(2, ["network"], {"member": viewer("member")}))
    assert subscriber.positions[NETWORK] == 1 and sent(subscriber) == []


def test_a_subscriber_that_falls_a_whole_queue_behind_is_ended_not_grown() -> None:
    subscriber = Subscriber("member", queue_size=3)
    subscriber.positions[NETWORK] = 0
    subscriber.offer(batch(0, ["network"] * 5, {"member": viewer("member")}))
    assert subscriber.ended is TOO_SLOW and subscriber.queue.qsize() == 3
    assert subscriber.positions[NETWORK] == 0, "it resumes from its own cursor, not from where the queue filled"


def test_a_removed_member_stops_following_and_a_deactivated_account_is_ended() -> None:
    removed = Subscriber("gone")
    removed.positions[NETWORK] = 0
    removed.offer(batch(0, ["network"], {"gone": viewer("gone", member=False)}))
    assert NETWORK not in removed.positions and sent(removed) == []
    deactivated = Subscriber("ended")
    deactivated.positions[NETWORK] = 0
    deactivated.offer(batch(0, ["network"], {}))
    assert deactivated.ended is SIGNED_OUT and sent(deactivated) == []


def test_resuming_to_an_earlier_cursor_does_not_resend_what_went_out_live() -> None:
    subscriber = Subscriber("member")
    subscriber.rewind(NETWORK, 2)  # connected when the network's head was 2
    subscriber.offer(batch(2, ["network", "network"], {"member": viewer("member")}))
    assert sent(subscriber) == ["n3", "n4"]
    subscriber.rewind(NETWORK, 0)  # then the client resumed from the cursor it had before
    subscriber.offer(batch(0, ["network"] * 5, {"member": viewer("member")}))
    assert sent(subscriber) == ["n1", "n2", "n5"]


def test_an_announcement_crosses_the_broker_intact_and_garbage_is_not_understood() -> None:
    facts = note("people", people=frozenset({"p1", "p2"}), family=frozenset({"f1"}))
    events = [announcement(7, "note.created", {"note_id": "n7"}, facts), announcement(8, "lead.changed", {}, None)]
    crossed = Announced.decode(announcement_message(NETWORK, events))
    assert crossed == Announced.of(NETWORK, events)
    assert crossed is not None and crossed.events[0][3] == facts and crossed.events[1][3] is None
    for garbage in ("net-1", "account:a1", "{", "{}", '{"network": "n"}', '{"network": "n", "events": [{"seq": "x"}]}'):
        assert Announced.decode(garbage) is None, garbage


def test_only_an_unbroken_run_of_note_events_with_their_facts_is_delivered_from_an_announcement() -> None:
    held = Followers("from_joining", {"a": viewer("a")}, frozenset({"a"}), until=float("inf"))
    with_facts = [announcement(n, "note.created", {"note_id": f"n{n}"}, note()) for n in (4, 5)]
    made = announced_batch(Announced.of(NETWORK, with_facts), held, lambda network, seq: f"{network}:{seq}")
    assert made is not None and (made.after, made.last) == (3, 5) and made.viewers == held.viewers
    for events in (
        [with_facts[0], announcement(6, "note.created", {"note_id": "n6"}, None)],  # no facts: read it back
        [with_facts[0], announcement(5, "involvement.ended", {}, None)],  # a change of standing: read it back
        [with_facts[0], announcement(7, "note.created", {"note_id": "n7"}, note())],  # a gap: read it back
        [],
    ):
        assert announced_batch(Announced.of(NETWORK, events), held, lambda network, seq: "c") is None
