"""What a client missed: the events after its cursor that it may see now, each with its own opaque cursor."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from patchwork import outbox
from patchwork.crypto import BadCursor, Keyring
from patchwork.errors import DomainError
from patchwork.models import Account
from patchwork.services import events, notes
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
    deliveries, last = events.visible_after(
        session=session, viewer=place.viewer, network=place.network, after=after, limit=limit
    )
    head = outbox.head(session=session, network_id=place.network.id)
    outgoing = [
        Outgoing(cursor=keys.cursors.seal(d.network_id, d.seq), network_id=d.network_id, type=d.type, data=d.data)
        for d in deliveries
    ]
    return CatchUp(events=outgoing, cursor=keys.cursors.seal(place.network.id, last), seq=last, more=last < head)


def followed_networks(*, session: Session, account: Account) -> list[str]:
    """The networks whose events an account's open connections follow: its memberships, active now."""
    return list(session.exec(belonging_to(account)).all())


def page_cursor(*, session: Session, keys: Keyring, network_id: str) -> str:
    """The cursor of this moment in a network, for a page to resume its live updates from. Read it before what the
    page shows: nothing can be missed, and a change both shown and then delivered live replaces itself in place
    (the live fragments are idempotent: a note swaps in by its id)."""
    return keys.cursors.seal(network_id, outbox.head(session=session, network_id=network_id))
