"""Notes as the live stream carries them: the notes of a batch of events read once for every connection of a
process, and each viewer shown a note exactly as `views` shows it to them, rendered once per distinct Seeing."""

from __future__ import annotations

from collections.abc import Mapping
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
    _facts: dict[str, policy.NoteFacts] = field(default_factory=dict)
    _views: dict[tuple[str, Seeing], NoteView] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._facts = {note_id: self.related.facts(note) for note_id, note in self.notes.items()}

    def seen_by(self, viewer: policy.NoteViewer, note_id: str, *, history_rule: str) -> tuple[Seeing, NoteView] | None:
        """The note as this viewer is shown it now, or None when they may not see it (or it is gone)."""
        note, facts = self.notes.get(note_id), self._facts.get(note_id)
        if note is None or facts is None or not policy.see_note(viewer, facts, history_rule=history_rule):
            return None
        seen = seeing(viewer, note, self.related, network_open=self.network_open, facts=facts)
        view = self._views.get((note_id, seen))
        if view is None:
            view = self._views[(note_id, seen)] = render(self.keys, note, self.related, seen)
        return seen, view

    @property
    def renderings(self) -> int:
        return len(self._views)


def load(*, session: Session, keys: Keyring, network_id: str, notes: Mapping[str, policy.NoteFacts | None]) -> Carried:
    """The notes (of this network only) with everything any viewer may be shown of them, in a fixed number of
    queries however many notes and viewers there are; a note's facts, when given, spare reading its audience."""
    network = session.get(Network, network_id)
    rows = (
        list(session.exec(select(Note).where(col(Note.id).in_(list(notes)), Note.network_id == network_id)).all())
        if notes
        else []
    )
    audiences = {note_id: facts for note_id, facts in notes.items() if facts is not None}
    related = gather(session, keys, network_id, rows, audiences=audiences) if rows else Related()
    is_open = network is not None and network.status == NetworkStatus.open
    return Carried(keys=keys, network_open=is_open, notes={n.id: n for n in rows}, related=related)
