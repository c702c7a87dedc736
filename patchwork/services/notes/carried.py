"""Notes as the live stream carries them: the notes of a batch of events read once for every connection of a
process, and each viewer shown a note exactly as `views` shows it to them, rendered once per distinct Seeing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.models.networks import Network, NetworkStatus
from patchwork.models.notes import Note
from patchwork.services.notes.views import NoteView, Related, Seeing, gather, render, seeing


@dataclass
class Carried:
    """Some notes of one network as they are now, and the views of them rendered so far, by Seeing."""

    keys: Keyring
    network_open: bool
    notes: dict[str, Note]
    related: Related
    _views: dict[tuple[str, Seeing], NoteView] = field(default_factory=dict)

    def seen_by(self, viewer: policy.NoteViewer, note_id: str, *, history_rule: str) -> tuple[Seeing, NoteView] | None:
        """The note as this viewer is shown it now, or None when they may not see it (or it is gone)."""
        note = self.notes.get(note_id)
        if note is None or not policy.see_note(viewer, self.related.facts(note), history_rule=history_rule):
            return None
        seen = seeing(viewer, note, self.related, network_open=self.network_open)
        view = self._views.get((note_id, seen))
        if view is None:
            view = self._views[(note_id, seen)] = render(self.keys, note, self.related, seen)
        return seen, view

    @property
    def renderings(self) -> int:
        return len(self._views)


def load(*, session: Session, keys: Keyring, network_id: str, note_ids: Collection[str]) -> Carried:
    """The notes (of this network only) with everything any viewer may be shown of them, in a fixed number of
    queries however many notes and viewers there are."""
    network = session.get(Network, network_id)
    rows = (
        list(session.exec(select(Note).where(col(Note.id).in_(list(note_ids)), Note.network_id == network_id)).all())
        if note_ids
        else []
    )
    related = gather(session, keys, network_id, rows) if rows else Related()
    is_open = network is not None and network.status == NetworkStatus.open
    return Carried(keys=keys, network_open=is_open, notes={n.id: n for n in rows}, related=related)
