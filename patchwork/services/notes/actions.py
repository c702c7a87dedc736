"""What is done to a note once written: revise, redact, reply, acknowledge; and opening the history to a newcomer."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, Forbidden, Invalid
from patchwork.models import Account
from patchwork.models.networks import NetworkStatus
from patchwork.models.notes import (
    Acknowledgement,
    HistoryOpening,
    Level,
    Note,
    NoteKind,
    NoteReply,
    NoteRevision,
)
from patchwork.services import alerts, changes
from patchwork.services.notes.drafts import _text, clean_body
from patchwork.services.notes.standing import Visible, _members, _network_for, _visible_note
from patchwork.services.notes.writing import DEFAULT_THRESHOLDS, _touch


def revise(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    note_id: str,
    body: object,
    level: object = None,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Note:
    """A new text (and, if given, a new level) for a note by its author; alerts are judged again."""
    found = _visible_note(session, account, note_id)
    note = found.note
    if not policy.revise_note(found.place.viewer, found.facts):
        raise Forbidden("Only the author can revise a note", code="not_author")
    if note.redacted_at is not None:
        raise Conflict("A redacted note cannot be revised", code="note_redacted")
    if level is not None and (note.kind != NoteKind.practitioner or level not in tuple(Level)):
        raise Invalid({"level": "Choose how worried you are"})
    text = clean_body(body)
    previous_level = note.level
    if level is not None:
        note.level = str(level)
    number = note.revision_count + 1
    revision = NoteRevision(note_id=note.id, number=number, body_sealed="", author_id=account.id)
    revision.body_sealed = keys.cipher.encrypt(text, context=f"revision:{revision.id}")
    session.add(revision)
    note.body_sealed = keys.cipher.encrypt(text, context=f"note:{note.id}")
    note.revision_count = number
    note.updated_at = utcnow()
    session.add(note)
    details = {"revision": number} | ({"level": note.level} if note.level != previous_level else {})
    _changed(session, keys, found, "note.revised", details, thresholds, levels=(previous_level, note.level))
    return note


def redact(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    note_id: str,
    reason: object,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Note:
    found = _visible_note(session, account, note_id)
    note = found.note
    if not policy.redact_note(found.place.viewer, found.facts):
        raise Forbidden("Only the author or a lead professional can redact a note", code="not_permitted")
    if note.redacted_at is not None:
        raise Conflict("This note has already been redacted", code="already_redacted")
    fields: dict[str, str] = {}
    why = _text(fields, "reason", reason, "the reason for redacting", limits.REDACTION_REASON)
    if fields:
        raise Invalid(fields)
    note.redacted_at = utcnow()
    note.redacted_by_id = account.id
    note.redaction_sealed = keys.cipher.encrypt(why, context=f"redaction:{note.id}")
    note.updated_at = note.redacted_at
    session.add(note)
    _changed(session, keys, found, "note.redacted", None, thresholds, levels=(note.level,))
    return note


def reply(*, session: Session, keys: Keyring, account: Account, note_id: str, body: object) -> NoteReply:
    found = _visible_note(session, account, note_id)
    if not policy.reply_to_note(found.place.viewer, found.facts):
        raise Forbidden("Only practitioner members can reply", code="not_permitted")
    if found.note.redacted_at is not None:
        raise Conflict("A redacted note cannot be replied to", code="note_redacted")
    if found.place.network.status != NetworkStatus.open:
        raise Conflict("This network is closed; nothing can be added", code="network_closed")
    text = clean_body(body, "your reply")
    answer = NoteReply(
        note_id=found.note.id,
        author_id=account.id,
        author_organisation_id=found.place.viewer.organisation_id,
        body_sealed="",
    )
    answer.body_sealed = keys.cipher.encrypt(text, context=f"reply:{answer.id}")
    session.add(answer)
    _touch(session, found.place.network)
    changes.record(
        session=session,
        keys=keys,
        action="note.replied",
        event="note.replied",
        note=found.facts,
        actor_id=account.id,
        network_id=found.note.network_id,
        target_type="note",
        target_id=found.note.id,
        note_id=found.note.id,
        reply_id=answer.id,
    )
    return answer


def acknowledge(*, session: Session, keys: Keyring, account: Account, note_id: str) -> Acknowledgement:
    found = _visible_note(session, account, note_id)
    decision = policy.acknowledge_note(found.place.viewer, found.facts)
    if not decision:
        raise Forbidden(f"You cannot acknowledge this note: {decision.reason}", code="not_permitted")
    if found.note.redacted_at is not None:
        raise Conflict("A redacted note cannot be acknowledged", code="note_redacted")
    already = session.exec(
        select(Acknowledgement).where(
            Acknowledgement.note_id == found.note.id, Acknowledgement.account_id == account.id
        )
    ).first()
    if already is not None:
        raise Conflict("You have already acknowledged this note", code="already_acknowledged")
    acknowledgement = Acknowledgement(note_id=found.note.id, account_id=account.id)
    session.add(acknowledgement)
    changes.record(
        session=session,
        keys=keys,
        action="note.acknowledged",
        event="note.acknowledged",
        note=found.facts,
        actor_id=account.id,
        network_id=found.note.network_id,
        target_type="note",
        target_id=found.note.id,
        note_id=found.note.id,
    )
    return acknowledgement


def open_history(
    *, session: Session, keys: Keyring, account: Account, network_id: str, user_id: object, reason: object
) -> HistoryOpening:
    place = _network_for(session, account, network_id)
    if not policy.open_history(place.viewer):
        raise Forbidden("Only a lead professional can open the history", code="not_lead")
    fields: dict[str, str] = {}
    why = _text(fields, "reason", reason, "the reason", limits.HISTORY_REASON)
    members = {i.account_id for i, _ in _members(session, place.network.id)}
    if not isinstance(user_id, str) or user_id not in members:
        fields["user_id"] = "Choose a member of this network"
    if fields:
        raise Invalid(fields)
    assert isinstance(user_id, str)
    opening = HistoryOpening(network_id=place.network.id, account_id=user_id, opened_by_id=account.id, reason_sealed="")
    opening.reason_sealed = keys.cipher.encrypt(why, context=f"history-opening:{opening.id}")
    session.add(opening)
    changes.record(
        session=session,
        keys=keys,
        action="history.opened",
        event="history.opened",  # a change of standing: live delivery must take it in order (see realtime)
        actor_id=account.id,
        network_id=place.network.id,
        target_type="account",
        target_id=user_id,
        user_id=user_id,
    )
    return opening


def _changed(
    session: Session,
    keys: Keyring,
    found: Visible,
    action: str,
    details: Mapping[str, object] | None,
    thresholds: policy.AlertThresholds,
    *,
    levels: tuple[str, ...],
) -> None:
    """A note's text or standing changed: the network touched, the change audited with its event, and the
    network's alerts judged again (they need only look when a level that counts changed)."""
    note = found.note
    _touch(session, found.place.network)
    changes.record(
        session=session,
        keys=keys,
        action=action,
        event=action,
        note=found.facts,
        actor_id=found.place.account.id,
        network_id=note.network_id,
        target_type="note",
        target_id=note.id,
        details=details,
        note_id=note.id,
    )
    alerts.evaluate(
        session=session,
        keys=keys,
        network_id=note.network_id,
        thresholds=thresholds,
        actor_id=found.place.account.id,
        network=found.place.network,
        changed_levels=levels,
    )
