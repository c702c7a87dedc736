"""Network events as facts: their types, one event as read from the outbox, a batch of them for live delivery,
and the rule that decides, for one recipient, whether an event may reach them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from patchwork import policy

PREPARED = "prepared"  # an announced event's key for what only the committing process holds (see prepare)
NOTE_EVENTS = frozenset({"note.created", "note.revised", "note.redacted", "note.replied", "note.acknowledged"})
# Alert events carry, in `_to`, the leads who are shown the alert as it was raised or changed (judged then, by
# services.alerts with the policy); `_`-prefixed facts steer delivery and never leave the server.
ALERT_EVENTS = frozenset({"alert.raised", "alert.updated"})
# Every change of anyone's standing in a network is one of these: live delivery relies on it (see realtime).
MEMBER_EVENTS = frozenset(
    {"involvement.added", "involvement.ended", "lead.changed", "network.updated", "family.joined", "history.opened"}
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
        return {"cursor": self.cursor, "network_id": self.network_id, "type": self.type, "data": public(self.data)}

    def public_data(self) -> dict[str, Any]:
        return public(self.data)


NoteLoader = Callable[[str, dict[str, policy.NoteFacts | None]], Awaitable[Any]]


@dataclass
class SharedNotes:
    """The notes of one batch's note events as read for its delivery (once per process, before the batch is
    offered: see Hub._with_notes), and what has been made of them for the connections it is offered to: `made`
    holds each frame by whatever the caller makes it from (the event and what the viewer is shown)."""

    network_id: str
    material: Any  # services.notes.carried.Carried
    made: dict[Any, str] = field(default_factory=dict)


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
    notes: SharedNotes | None = (
        None  # the hub's SharedNotes of its note events, for connections whose frames carry the note
    )
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
        return bool(policy.see_member_events(viewer))
    if fact.type in ALERT_EVENTS:
        return alert_event_reaches(viewer, fact.data)
    return False


def alert_event_reaches(viewer: policy.NoteViewer, data: dict[str, Any]) -> bool:
    return bool(policy.receive_alert_event(viewer, data.get("_to")))


def public(data: dict[str, Any]) -> dict[str, Any]:
    """An event's facts as clients see them: without the ones that steer delivery."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def follows(viewer: policy.NoteViewer) -> bool:
    """Whether this viewer still belongs to the network at all: if not, its connections stop following it."""
    return bool(policy.belongs(viewer))


@dataclass(frozen=True)
class Announced:
    """Events a commit added to one network, as the committing process knew them: what travels through the
    broker, so a listener that has everything up to the first of them can deliver without reading them back.
    A note event carries its note's facts (ids, kinds, a time: never text); without them it must be read."""

    network_id: str
    events: list[tuple[int, str, dict[str, Any], policy.NoteFacts | None]]
    # In the committing process only (never through the broker): what its commit prepared for delivering a note
    # event, by sequence, so that the note need not be read back (see `prepare`).
    prepared: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, network_id: str, events: list[dict[str, Any]]) -> Announced:
        """From the events as `announcement` made them (raises KeyError, TypeError or ValueError if malformed)."""
        return cls(
            network_id,
            [
                (int(e["seq"]), str(e["type"]), dict(e["data"]), _note_from(e["note"]) if e["note"] else None)
                for e in events
            ],
            {int(e["seq"]): e[PREPARED] for e in events if e.get(PREPARED) is not None},
        )

    @classmethod
    def decode(cls, message: str) -> Announced | None:
        """The announcement in a broker message, or None when it is a plain doorbell (or not understood)."""
        if not message.startswith("{"):
            return None
        try:
            raw = json.loads(message)
            return cls.of(str(raw["network"]), list(raw["events"]))
        except (ValueError, KeyError, TypeError):
            return None


def announcement(seq: int, type_: str, data: dict[str, Any], note: policy.NoteFacts | None) -> dict[str, Any]:
    """One event as a commit announces it (see Announced)."""
    return {"seq": seq, "type": type_, "data": data, "note": _note_json(note) if note else None}


def announcement_message(network_id: str, events: list[dict[str, Any]]) -> str:
    """The broker message for a network's announced events: JSON, where a plain doorbell is a bare id. What was
    prepared for this process's own delivery stays here."""
    sent = [{key: value for key, value in e.items() if key != PREPARED} for e in events]
    return json.dumps({"network": network_id, "events": sent}, separators=(",", ":"), sort_keys=True)


def prepare(announced: list[dict[str, Any]], note_id: str, material: Any) -> bool:
    """Give the announced `note.created` of this note what its delivery in this process needs (the note as
    written, see services.notes.carried), so it is not read back; False if no such event was announced."""
    for event in announced:
        if event["type"] == "note.created" and event["data"].get("note_id") == note_id:
            event[PREPARED] = material
            return True
    return False


def _note_json(note: policy.NoteFacts) -> dict[str, Any]:
    created = note.created_at.astimezone(UTC)
    return {
        "author_id": note.author_id,
        "kind": note.kind,
        "audience": note.audience,
        "audience_organisations": sorted(note.audience_organisations),
        "audience_people": sorted(note.audience_people),
        "family_shares": sorted(note.family_shares),
        "created_at": created.isoformat(),
    }


def _note_from(raw: dict[str, Any]) -> policy.NoteFacts:
    return policy.NoteFacts(
        author_id=str(raw["author_id"]),
        kind=str(raw["kind"]),
        audience=str(raw["audience"]),
        audience_organisations=frozenset(map(str, raw["audience_organisations"])),
        audience_people=frozenset(map(str, raw["audience_people"])),
        family_shares=frozenset(map(str, raw["family_shares"])),
        created_at=datetime.fromisoformat(str(raw["created_at"])),
    )
