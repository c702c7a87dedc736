"""Notifications: what is new for a person in their networks, read from the outbox, newest first.

Nothing is fanned out on write. A person's notifications are the events of their networks since they joined that
the live delivery's own rule (`events.visible`, the policy per recipient) lets them see, of the kinds that matter to
them: notes by others, replies to their notes (or to notes they replied to), acknowledgements of their notes, and,
for practitioners, who joined, left or leads. Each is worded for its reader with the note views' rules, so a family
member never sees a sensitive practitioner's name. A mark per network records how far they have read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.events import Fact, visible
from patchwork.models import Account
from patchwork.models.events import EventCounter, NetworkEvent
from patchwork.models.networks import Child, Network
from patchwork.models.notes import FamilyMembership, Note, NoteReply
from patchwork.models.notifications import NotificationMark, NotificationPreference
from patchwork.services import audit, children, notes, stream
from patchwork.services.notification_words import member_text, note_text, people_in
from patchwork.services.visibility import facts_of_many, viewer_in

NOTE_KINDS = frozenset({"note.created", "note.replied", "note.acknowledged"})
MEMBER_KINDS = frozenset({"involvement.added", "involvement.ended", "lead.changed", "family.joined"})
KINDS = NOTE_KINDS | MEMBER_KINDS
LIMIT = 50
SCAN = 200
UNREAD_CAP = 99


@dataclass(frozen=True)
class Notification:
    id: str  # the event's own (random) id: stable, and it tells nothing
    network_id: str
    seq: int
    type: str
    at: datetime
    text: str
    where: str
    href: str
    unread: bool
    note_id: str | None = None


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    cursors: dict[str, str]  # per network, the moment the page was read: resume live updates and mark read from here
    unread: int  # counted up to UNREAD_CAP + 1


@dataclass(frozen=True)
class Followed:
    """One followed network, as this person stands in it now."""

    standing: notes.Standing
    since: datetime | None
    seen: int
    mailed: int
    head: int
    label: str

    @property
    def viewer(self) -> policy.NoteViewer:
        return self.standing.viewer


@dataclass(frozen=True)
class Relevant:
    row: NetworkEvent
    data: dict[str, Any]
    place: Followed


# Reading


def places(*, session: Session, keys: Keyring, account: Account, only: str | None = None) -> dict[str, Followed]:
    """The networks this person follows (their active memberships), with their standing and marks."""
    network_ids = [n for n in stream.followed_networks(session=session, account=account) if only in (None, n)]
    if not network_ids:
        return {}
    found = session.exec(
        select(Network, Child)
        .join(Child, col(Child.id) == Network.child_id)
        .where(col(Network.id).in_(network_ids), col(Network.merged_into_id).is_(None))
    ).all()
    marks = {
        mark.network_id: mark
        for mark in session.exec(
            select(NotificationMark).where(
                NotificationMark.account_id == account.id, col(NotificationMark.network_id).in_(network_ids)
            )
        ).all()
    }
    heads = dict(
        session.exec(
            select(EventCounter.network_id, EventCounter.seq).where(col(EventCounter.network_id).in_(network_ids))
        ).all()
    )
    family_since = dict(
        session.exec(
            select(FamilyMembership.network_id, func.min(FamilyMembership.joined_at))
            .where(
                FamilyMembership.account_id == account.id,
                col(FamilyMembership.network_id).in_(network_ids),
                FamilyMembership.active == True,  # noqa: E712
            )
            .group_by(col(FamilyMembership.network_id))
        ).all()
    )
    result: dict[str, Followed] = {}
    for network, child in found:
        viewer = viewer_in(session, account, network)
        if not (viewer.member or viewer.family_member):
            continue
        mark = marks.get(network.id)
        result[network.id] = Followed(
            standing=notes.Standing(account=account, network=network, viewer=viewer),
            since=viewer.joined_at if viewer.member else family_since.get(network.id),
            seen=mark.seen_seq if mark else 0,
            mailed=mark.mailed_seq if mark else 0,
            head=heads.get(network.id, 0),
            label=children.open_identity(keys.cipher, child).display_name,
        )
    return result


def _rows(session: Session, found: Mapping[str, Followed], floors: Mapping[str, int]) -> Iterator[list[NetworkEvent]]:
    """The events of the kinds that matter, after each network's floor and up to the head read with the marks,
    since the person joined: newest first, a chunk at a time."""
    conditions = [
        and_(
            col(NetworkEvent.network_id) == network_id,
            col(NetworkEvent.seq) > floors.get(network_id, 0),
            col(NetworkEvent.seq) <= place.head,
            col(NetworkEvent.at) >= place.since,
        )
        for network_id, place in found.items()
        if place.since is not None and place.head > floors.get(network_id, 0)
    ]
    if not conditions:
        return
    query = (
        select(NetworkEvent)
        .where(col(NetworkEvent.type).in_(KINDS), or_(*conditions))
        .order_by(col(NetworkEvent.at).desc(), col(NetworkEvent.seq).desc(), col(NetworkEvent.id).desc())
    )
    offset = 0
    while True:
        rows = list(session.exec(query.offset(offset).limit(SCAN)).all())
        if rows:
            yield rows
        if len(rows) < SCAN:
            return
        offset += SCAN


def _relevant(
    session: Session, account: Account, found: Mapping[str, Followed], rows: list[NetworkEvent]
) -> list[Relevant]:
    """The rows this person may see (the live delivery's rule) and that concern them, in the order given."""
    data = {row.id: json.loads(row.data) for row in rows}
    note_ids = {str(data[row.id].get("note_id")) for row in rows if row.type in NOTE_KINDS}
    facts = facts_of_many(session, note_ids)
    reply_ids = [str(data[row.id].get("reply_id")) for row in rows if row.type == "note.replied"]
    replies = {
        reply.id: reply for reply in session.exec(select(NoteReply).where(col(NoteReply.id).in_(reply_ids))).all()
    }
    my_first_replies: dict[str, datetime] = {}
    if reply_ids:
        my_first_replies = dict(
            session.exec(
                select(NoteReply.note_id, func.min(NoteReply.created_at))
                .where(col(NoteReply.note_id).in_(note_ids), NoteReply.author_id == account.id)
                .group_by(col(NoteReply.note_id))
            ).all()
        )
    result = []
    for row in rows:
        place = found[row.network_id]
        facts_of_note = facts.get(str(data[row.id].get("note_id"))) if row.type in NOTE_KINDS else None
        fact = Fact(row.network_id, row.seq, "", row.type, data[row.id], facts_of_note)
        if not visible(place.viewer, fact, history_rule=place.standing.network.history_rule):
            continue
        if _concerns(account.id, place.viewer, fact, replies.get(str(fact.data.get("reply_id"))), my_first_replies):
            result.append(Relevant(row=row, data=data[row.id], place=place))
    return result


def _concerns(
    me: str,
    viewer: policy.NoteViewer,
    fact: Fact,
    reply: NoteReply | None,
    my_first_replies: Mapping[str, datetime],
) -> bool:
    note = fact.note
    if fact.type == "note.created":
        return note is not None and note.author_id != me
    if fact.type == "note.replied":
        if note is None or reply is None or reply.author_id == me:
            return False
        mine = my_first_replies.get(reply.note_id)
        return note.author_id == me or (mine is not None and mine < reply.created_at)
    if fact.type == "note.acknowledged":
        return note is not None and note.author_id == me and bool(policy.see_acknowledgements(viewer, note))
    return fact.type in MEMBER_KINDS and fact.data.get("user_id") != me


def _render(session: Session, keys: Keyring, account: Account, found: list[Relevant]) -> list[Notification]:
    """Each notification worded for its reader: names and organisations as the note views show them to this person."""
    views: dict[str, notes.NoteView] = {}
    by_network: dict[str, list[str]] = {}
    for item in found:
        if item.row.type in NOTE_KINDS:
            by_network.setdefault(item.row.network_id, []).append(str(item.data.get("note_id")))
    for network_id, note_ids in by_network.items():
        rows = list(session.exec(select(Note).where(col(Note.id).in_(set(note_ids)))).all())
        place = next(item.place for item in found if item.row.network_id == network_id)
        views.update(
            (view.note.id, view) for view in notes.views(session=session, keys=keys, place=place.standing, notes=rows)
        )
    people = people_in(session, keys.cipher, [(r.row.type, r.data) for r in found])
    result = []
    for item in found:
        row, data, place = item.row, item.data, item.place
        note_id = str(data.get("note_id")) if row.type in NOTE_KINDS else None
        view = views.get(note_id or "")
        text = note_text(row.type, data, view, place.viewer) if note_id else member_text(row.type, data, people)
        if text is None:
            continue
        result.append(
            Notification(
                id=row.id,
                network_id=row.network_id,
                seq=row.seq,
                type=row.type,
                at=row.at,
                text=text,
                where=place.label,
                href=f"/notes/{note_id}" if note_id else f"/networks/{row.network_id}",
                unread=row.seq > place.seen,
                note_id=note_id,
            )
        )
    return result


def for_person(*, session: Session, keys: Keyring, account: Account, limit: int = LIMIT) -> NotificationPage:
    """The newest notifications, how many are unread, and the moment they were read: each network's head is read
    first and nothing after it is shown, so a page resuming live updates from it misses nothing and repeats nothing."""
    found = places(session=session, keys=keys, account=account)
    relevant: list[Relevant] = []
    for rows in _rows(session, found, {}):
        relevant += _relevant(session, account, found, rows)
        if len(relevant) >= limit:
            break
    return NotificationPage(
        items=_render(session, keys, account, relevant[:limit]),
        cursors={network_id: keys.cursors.seal(network_id, place.head) for network_id, place in found.items()},
        unread=_count(session, account, found, {n: p.seen for n, p in found.items()}, UNREAD_CAP + 1),
    )


def unread_count(*, session: Session, keys: Keyring, account: Account) -> int:
    """How many notifications this person has not read, up to one past UNREAD_CAP (shown as "99+")."""
    found = places(session=session, keys=keys, account=account)
    return _count(session, account, found, {n: p.seen for n, p in found.items()}, UNREAD_CAP + 1)


def one(*, session: Session, keys: Keyring, account: Account, network_id: str, seq: int) -> Notification | None:
    """The notification one event makes for this person, if any: the live page's path, the list's rules."""
    found = places(session=session, keys=keys, account=account, only=network_id)
    place = found.get(network_id)
    if place is None:
        return None
    row = session.exec(
        select(NetworkEvent).where(NetworkEvent.network_id == network_id, NetworkEvent.seq == seq)
    ).first()
    if row is None or row.type not in KINDS or place.since is None or row.at < place.since:
        return None
    rendered = _render(session, keys, account, _relevant(session, account, found, [row]))
    return rendered[0] if rendered else None


def _count(
    session: Session, account: Account, found: Mapping[str, Followed], floors: Mapping[str, int], cap: int
) -> int:
    count = 0
    for rows in _rows(session, found, floors):
        count += len(_relevant(session, account, found, rows))
        if count >= cap:
            return cap
    return count


def has_new(*, session: Session, account: Account, found: Mapping[str, Followed]) -> bool:
    """Whether anything concerns this person beyond what they have read or been e-mailed about."""
    floors = {network_id: max(place.seen, place.mailed) for network_id, place in found.items()}
    return _count(session, account, found, floors, 1) > 0


# Marks


def mark_read(*, session: Session, keys: Keyring, account: Account, cursors: Mapping[str, object]) -> None:
    """Everything up to each cursor (from a page or the API) is read. Networks the person no longer follows are
    passed over in silence; a bad cursor is refused."""
    followed = places(session=session, keys=keys, account=account)
    for network_id, cursor in cursors.items():
        place = followed.get(network_id)
        if place is None or not isinstance(cursor, str):
            continue
        seq = stream.open_cursor(keys, cursor, network_id=network_id, head=place.head)
        raise_mark(session=session, account_id=account.id, network_id=network_id, seen=seq)


def raise_mark(
    *, session: Session, account_id: str, network_id: str, seen: int | None = None, mailed: int | None = None
) -> None:
    """Moves a mark forward, never back, whoever else moves it at the same time."""
    key = {"account_id": account_id, "network_id": network_id}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            postgresql.insert(NotificationMark).values(**key, seen_seq=0, mailed_seq=0).on_conflict_do_nothing()
        )
    else:
        session.execute(
            sqlite.insert(NotificationMark).values(**key, seen_seq=0, mailed_seq=0).on_conflict_do_nothing()
        )
    where = and_(col(NotificationMark.account_id) == account_id, col(NotificationMark.network_id) == network_id)
    if seen is not None:
        session.execute(
            update(NotificationMark).where(where, col(NotificationMark.seen_seq) < seen).values(seen_seq=seen)
        )
    if mailed is not None:
        session.execute(
            update(NotificationMark).where(where, col(NotificationMark.mailed_seq) < mailed).values(mailed_seq=mailed)
        )


# E-mail preference


def wants_email(*, session: Session, account_id: str) -> bool:
    preference = session.get(NotificationPreference, account_id)
    return preference is None or preference.email


def ensure_preference(*, session: Session, account_id: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            postgresql.insert(NotificationPreference).values(account_id=account_id, email=True).on_conflict_do_nothing()
        )
    else:
        session.execute(
            sqlite.insert(NotificationPreference).values(account_id=account_id, email=True).on_conflict_do_nothing()
        )


def set_email(*, session: Session, keys: Keyring, account: Account, enabled: bool) -> None:
    ensure_preference(session=session, account_id=account.id)
    session.execute(
        update(NotificationPreference).where(col(NotificationPreference.account_id) == account.id).values(email=enabled)
    )
    audit.record(
        session=session,
        key=keys.audit,
        action="notifications.email_on" if enabled else "notifications.email_off",
        actor_id=account.id,
        target_type="account",
        target_id=account.id,
    )
