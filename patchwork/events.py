"""Network events as facts: their types, one event as read from the outbox, a batch of them for live delivery,
and the rule that decides, for one recipient, whether an event may reach them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from patchwork import policy

NOTE_EVENTS = frozenset({"note.created", "note.revised", "note.redacted", "note.replied", "note.acknowledged"})
MEMBER_EVENTS = frozenset(
    {"involvement.added", "involvement.ended", "lead.changed", "network.updated", "family.joined"}
)


@dataclass(frozen=True)
class Fact:
    network_id: str
    seq: int
    cursor: str
    type: str
    data: dict[str, Any]
    note: policy.NoteFacts | None = None

    @property
    def note_id(self) -> str | None:
        value = self.data.get("note_id")
        return value if isinstance(value, str) else None

    def as_json(self) -> dict[str, object]:
        return {"cursor": self.cursor, "network_id": self.network_id, "type": self.type, "data": self.data}


@dataclass
class Batch:
    """The events of one network after `after` up to `last`, and the standing, read at the same moment, of
    each account that follows it. An account missing from `viewers` is no longer active."""

    network_id: str
    after: int
    last: int
    head: int
    history_rule: str
    facts: list[Fact]
    viewers: dict[str, policy.NoteViewer]
    _frames: dict[int, str] = field(default_factory=dict)

    @property
    def more(self) -> bool:
        return self.last < self.head

    def frame(self, fact: Fact) -> str:
        """The JSON frame of an event: the same for every recipient, so encoded once."""
        text = self._frames.get(fact.seq)
        if text is None:
            text = self._frames[fact.seq] = json.dumps(fact.as_json(), separators=(",", ":"))
        return text


def visible(viewer: policy.NoteViewer, fact: Fact, *, history_rule: str) -> bool:
    if fact.type in NOTE_EVENTS:
        return fact.note is not None and bool(policy.see_note(viewer, fact.note, history_rule=history_rule))
    if fact.type in MEMBER_EVENTS:
        return viewer.kind == "practitioner" and viewer.member
    return False


def follows(viewer: policy.NoteViewer) -> bool:
    """Whether this viewer still belongs to the network at all: if not, its connections stop following it."""
    return viewer.member or viewer.family_member
