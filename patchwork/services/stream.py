"""What a client missed: the events after its cursor that it may see now, each with its own opaque cursor."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from patchwork import outbox
from patchwork.clock import uk_today
from patchwork.crypto import BadCursor, Keyring
from patchwork.errors import DomainError
from patchwork.events import NOTE_EVENTS
from patchwork.models import Account
from patchwork.services import audit, events, notes
from patchwork.services.notes import carried
from patchwork.services.visibility import belonging_to


class InvalidCursor(DomainError):
    status = 422
    code = "invalid_cursor"


@dataclass(frozen=True)
class Outgoing:
    cursor: str
    network_id: str
    type: str
    data: dict[str, object]
    note: notes.NoteView | None = None  # a note event's note, as the viewer is shown it now

    def as_json(self) -> dict[str, object]:
        return {"cursor": self.cursor, "network_id": self.network_id, "type": self.type, "data": self.data}


@dataclass(frozen=True)
class CatchUp:
    events: list[Outgoing]
    cursor: str
    seq: int
    more: bool


def open_cursor(keys: Keyring, cursor: str | None, *, network_id: str, head: int) -> int:
    if not cursor:
        return 0
    try:
        seq = keys.cursors.open(cursor, network_id=network_id)
    except BadCursor as error:
        raise InvalidCursor(str(error)) from error
    if seq > head:
        raise InvalidCursor("This cursor is not valid")
    return seq


def catch_up(
    *, session: Session, keys: Keyring, account: Account, network_id: str, after: str | None, limit: int = events.PAGE
) -> CatchUp:
    """Events after `after` (from the start when it is None) that the account may see, oldest first."""
    place = notes.standing(session=session, account=account, network_id=network_id)
    head = outbox.head(session=session, network_id=place.network.id)
    start = open_cursor(keys, after, network_id=place.network.id, head=head)
    return catch_up_from(session=session, keys=keys, place=place, after=start, limit=limit)


def catch_up_from(
    *, session: Session, keys: Keyring, place: notes.Standing, after: int, limit: int = events.PAGE
) -> CatchUp:
    """Each note event carries its note as this viewer is shown it now (the notes read once for the page); a page
    that carries any is recorded as a read of the notes ("notes.viewed", view events)."""
    deliveries, last = events.visible_after(
        session=session, viewer=place.viewer, network=place.network, after=after, limit=limit
    )
    head = outbox.head(session=session, network_id=place.network.id)
    note_ids = {str(d.data.get("note_id")) for d in deliveries if d.type in NOTE_EVENTS}
    shown = carried.load(session=session, keys=keys, network_id=place.network.id, notes=dict.fromkeys(note_ids))
    outgoing = []
    for d in deliveries:
        note = None
        if d.type in NOTE_EVENTS:
            found = shown.seen_by(place.viewer, str(d.data.get("note_id")), history_rule=place.network.history_rule)
            if found is None:
                continue
            note = found[1]
        cursor = keys.cursors.seal(d.network_id, d.seq)
        outgoing.append(Outgoing(cursor=cursor, network_id=d.network_id, type=d.type, data=d.data, note=note))
    if any(o.note is not None for o in outgoing):
        record_read(session=session, keys=keys, account_id=place.account.id, network_id=place.network.id, view="events")
    return CatchUp(events=outgoing, cursor=keys.cursors.seal(place.network.id, last), seq=last, more=last < head)


class RecordedReads:
    """Whom this process has recorded, today, as sent the notes of a network by the stream: a person's first note
    of a network each day is recorded as a read of the notes (as opening the feed is), not every note on every
    connection (an integration's sockets would otherwise write the trail once per socket). Held by the runtime."""

    DAY_CHECK_SECONDS = 30.0  # how often the UK date is looked at again (not for every note sent)

    def __init__(self) -> None:
        self._day: date | None = None
        self._checked = -math.inf
        self._recorded: set[tuple[str, str]] = set()

    def due(self, account_id: str, network_id: str, today: date | None = None) -> bool:
        now = time.monotonic()
        if today is None and now - self._checked >= self.DAY_CHECK_SECONDS:
            self._checked = now
            today = uk_today()
        if today is not None and today != self._day:
            self._day = today
            self._recorded.clear()
        return (account_id, network_id) not in self._recorded

    def recorded(self, account_id: str, network_id: str) -> None:
        self._recorded.add((account_id, network_id))

    def forget(self, account_id: str, network_id: str) -> None:
        self._recorded.discard((account_id, network_id))


def record_read(*, session: Session, keys: Keyring, account_id: str, network_id: str, view: str = "stream") -> None:
    """Notes sent to someone by the stream or the events endpoint: a read of the notes, for the audit trail and the
    family's access log, as opening the feed is."""
    audit.record(
        session=session,
        key=keys.audit,
        action="notes.viewed",
        actor_id=account_id,
        network_id=network_id,
        details={"view": view},
    )


def followed_networks(*, session: Session, account: Account) -> list[str]:
    """The networks whose events an account's open connections follow: its memberships, active now."""
    return list(session.exec(belonging_to(account)).all())


def page_cursor(*, session: Session, keys: Keyring, network_id: str) -> str:
    """The cursor of this moment in a network, for a page to resume its live updates from. Read it before what the
    page shows: nothing can be missed, and a change both shown and then delivered live replaces itself in place
    (the live fragments are idempotent: a note swaps in by its id)."""
    return keys.cursors.seal(network_id, outbox.head(session=session, network_id=network_id))
