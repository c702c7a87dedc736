"""Reading notes: the feed a page at a time, the chronology, one note, and the read recorded for the access log."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from patchwork import outbox, policy
from patchwork.crypto import Keyring
from patchwork.errors import Invalid
from patchwork.events import prepare
from patchwork.models import Account
from patchwork.models.networks import NetworkStatus
from patchwork.models.notes import (
    Note,
)
from patchwork.services import audit
from patchwork.services.notes import carried
from patchwork.services.notes.standing import Standing, _network_for, _visible_note
from patchwork.services.notes.views import NoteView, gather, render, seeing, views
from patchwork.services.notes.writing import Posted
from patchwork.services.visibility import visible

FEED_PAGE = 20


MAX_PAGE = 100


CHRONOLOGY_LIMIT = 5000


@dataclass(frozen=True)
class NotePage:
    notes: list[NoteView]
    next_cursor: str | None


@dataclass(frozen=True)
class ChronologyFilters:
    categories: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    organisation_ids: frozenset[str] = frozenset()
    observed_from: date | None = None
    observed_to: date | None = None

    @property
    def narrowed(self) -> bool:
        """Whether any filter is set: a chronology with none is every note the viewer may see."""
        return bool(self.categories or self.levels or self.organisation_ids or self.observed_from or self.observed_to)


def encode_cursor(note: Note) -> str:
    return base64.urlsafe_b64encode(f"{note.created_at.isoformat()}|{note.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, note_id = raw.split("|", 1)
        return datetime.fromisoformat(moment), note_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise Invalid({"before": "The page cursor is not valid"}, "The page cursor is not valid") from error


def feed(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    before: str | None = None,
    limit: int = FEED_PAGE,
    known: Standing | None = None,
    audited: bool = False,
) -> NotePage:
    """Newest first, a page at a time, only what the viewer may see (`known`: a standing the caller already has)."""
    place = known or _network_for(session, account, network_id)
    if audited:
        _record_read(session, keys, place, "feed")
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Note).where(
        Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
    )
    if before:
        moment, note_id = decode_cursor(before)
        query = query.where(
            or_(col(Note.created_at) < moment, and_(col(Note.created_at) == moment, col(Note.id) < note_id))
        )
    rows = list(session.exec(query.order_by(col(Note.created_at).desc(), col(Note.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return NotePage(
        notes=views(session=session, keys=keys, place=place, notes=rows),
        next_cursor=encode_cursor(rows[-1]) if more and rows else None,
    )


def chronology(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    filters: ChronologyFilters,
    known: Standing | None = None,
    audited: bool = False,
) -> list[NoteView]:
    """By date observed, oldest first, filtered, only what the viewer may see.

    Family members cannot filter by organisation: it could tell them who wrote a note whose author is hidden.
    """
    place = known or _network_for(session, account, network_id)
    if audited:
        _record_read(session, keys, place, "chronology")
    if not policy.filter_by_organisation(place.viewer):
        filters = replace(filters, organisation_ids=frozenset())
    query = select(Note).where(
        Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
    )
    if filters.categories:
        query = query.where(col(Note.category).in_(filters.categories))
    if filters.levels:
        query = query.where(col(Note.level).in_(filters.levels))
    if filters.organisation_ids:
        query = query.where(col(Note.author_organisation_id).in_(filters.organisation_ids))
    if filters.observed_from:
        query = query.where(col(Note.observed_on) >= filters.observed_from)
    if filters.observed_to:
        query = query.where(col(Note.observed_on) <= filters.observed_to)
    rows = session.exec(
        query.order_by(col(Note.observed_on), col(Note.created_at), col(Note.id)).limit(CHRONOLOGY_LIMIT)
    ).all()
    return views(session=session, keys=keys, place=place, notes=list(rows))


def one_note(*, session: Session, keys: Keyring, account: Account, note_id: str, audited: bool = False) -> NoteView:
    found = _visible_note(session, account, note_id)
    if audited:
        _record_read(session, keys, found.place, "note", note_id=found.note.id)
    return views(session=session, keys=keys, place=found.place, notes=[found.note])[0]


def _record_read(session: Session, keys: Keyring, place: Standing, view: str, *, note_id: str | None = None) -> None:
    """A person's read of notes, for the audit trail and the family's access log ("notes.viewed").

    Opt-in (`audited=True`): pages and API reads ask for it; showing back what someone has just written, or a live
    update to a page whose opening was already recorded, does not.
    """
    audit.record(
        session=session,
        key=keys.audit,
        action="notes.viewed",
        actor_id=place.account.id,
        network_id=place.network.id,
        target_type="note" if note_id else None,
        target_id=note_id,
        details={"view": view},
    )


def posted_view(*, session: Session, keys: Keyring, posted: Posted) -> NoteView:
    """What its author is shown of a note just posted, without reading back what was written; what was gathered
    for it also goes with the note's announced event, for this process's live delivery (a fresh note has no
    replies, acknowledgements or revisions to hide anyone in, so it serves every viewer)."""
    place, note = posted.place, posted.note
    known = {}
    if place.involvement is not None and place.organisation_name is not None:
        known[place.involvement.organisation_id] = place.organisation_name
    related = gather(
        session, keys, place.network.id, [note], written={note.id: posted.facts}, me=place.account, organisations=known
    )
    network_open = place.network.status == NetworkStatus.open
    shown = carried.Carried(keys=keys, network_open=network_open, notes={note.id: note}, related=related)
    prepare(outbox.announced(session, place.network.id), note.id, shown)
    return render(keys, note, related, seeing(place.viewer, note, related, network_open=network_open))


def count_visible(*, session: Session, account: Account, network_id: str) -> int:
    place = _network_for(session, account, network_id)
    return session.exec(
        select(func.count()).where(
            Note.network_id == place.network.id, visible(place.viewer, history_rule=place.network.history_rule)
        )
    ).one()
