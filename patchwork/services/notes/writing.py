"""Writing a note: a practitioner's note or a family member's own account, with its audience, audit and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import bindparam, insert, inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlmodel import Session, SQLModel, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, Invalid, NotFound
from patchwork.models import Account, new_id
from patchwork.models.networks import Involvement, InvolvementStatus, Network
from patchwork.models.notes import (
    AudienceKind,
    FamilyMembership,
    Level,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteKind,
    NoteRevision,
)
from patchwork.services import alerts, changes, rows
from patchwork.services.notes.drafts import (
    Draft,
    ReferralRouteNotAcknowledged,
    check_observed_on,
    clean_body,
    referral_route_unconfirmed,
)
from patchwork.services.notes.standing import Standing, _network_for
from patchwork.services.visibility import facts_from
from patchwork.statements import Statement

DEFAULT_THRESHOLDS = policy.AlertThresholds()
Row = TypeVar("Row", bound=SQLModel)


@dataclass(frozen=True)
class Posted:
    """A note just written, with its author's standing and its facts: its author's answer is made from these,
    not read back."""

    note: Note
    place: Standing
    facts: policy.NoteFacts


def _check_audience(session: Session, network: Network, draft: Draft) -> None:
    """Only members may be chosen: asks about the chosen ones alone, so a large network costs nothing extra."""
    fields: dict[str, str] = {}
    if not (draft.organisation_ids or draft.user_ids or draft.family_user_ids):
        return
    active = (Involvement.network_id == network.id, Involvement.status == InvolvementStatus.active)
    if draft.organisation_ids:
        found = session.exec(
            select(Involvement.organisation_id).where(
                *active, col(Involvement.organisation_id).in_(draft.organisation_ids)
            )
        ).all()
        if set(found) != draft.organisation_ids:
            fields["organisation_ids"] = "Choose only organisations that are involved in this network"
    if draft.user_ids:
        found = session.exec(
            select(Involvement.account_id).where(*active, col(Involvement.account_id).in_(draft.user_ids))
        ).all()
        if set(found) != draft.user_ids:
            fields["user_ids"] = "Choose only people who are members of this network"
    if draft.family_user_ids:
        found = session.exec(
            select(FamilyMembership.account_id).where(
                FamilyMembership.network_id == network.id,
                FamilyMembership.active == True,  # noqa: E712
                col(FamilyMembership.account_id).in_(draft.family_user_ids),
            )
        ).all()
        if set(found) != draft.family_user_ids:
            fields["family_user_ids"] = "Choose only family members of this network"
    if fields:
        raise Invalid(fields)


def check_audience(*, session: Session, account: Account, network_id: str, draft: Draft) -> None:
    """The audience check post_note makes, for a form's check-before-posting step."""
    place = _network_for(session, account, network_id)
    _check_audience(session, place.network, draft)


def post_note(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    draft: Draft,
    referral_route: str,
    referral_route_acknowledged: bool,
    thresholds: policy.AlertThresholds = DEFAULT_THRESHOLDS,
) -> Posted:
    place = _network_for(session, account, network_id)
    if not policy.post_practitioner_note(place.viewer):
        raise NotFound("No such network")
    decision = policy.post_note(place.viewer, network_status=place.network.status)
    if not decision:
        raise Conflict("This network is closed; notes cannot be added", code="network_closed")
    _check_audience(session, place.network, draft)
    check_observed_on(
        session=session,
        keys=keys,
        network=place.network,
        observed_on=draft.observed_on,
        sealed_identity=place.child_sealed,
    )
    if referral_route_unconfirmed(draft, acknowledged=referral_route_acknowledged):
        raise ReferralRouteNotAcknowledged(
            "An urgent note does not replace a referral. " + referral_route + " Confirm that you have followed "
            "the referral route, or will, to post this note."
        )
    involvement = place.involvement
    if involvement is None:  # not a practitioner member (the policy has said so already)
        raise NotFound("No such network")
    now = utcnow()
    note_id = new_id()
    note = _new(
        Note,
        id=note_id,
        network_id=place.network.id,
        author_id=account.id,
        author_organisation_id=involvement.organisation_id,
        author_sensitive=involvement.sensitive,
        kind=NoteKind.practitioner,
        category=draft.category,
        level=draft.level,
        observed_on=draft.observed_on,
        audience=draft.audience,
        basis=draft.basis.kind,
        basis_sealed=keys.cipher.encrypt(draft.basis.to_json(), context=f"basis:{note_id}"),
        body_sealed=keys.cipher.encrypt(draft.body, context=f"note:{note_id}"),
        created_at=now,
        updated_at=now,
    )
    facts = facts_from(note, organisations=draft.organisation_ids, people=draft.user_ids, shares=draft.family_user_ids)
    posted = _write(session, keys, place, note, draft.body, facts, {"level": draft.level, "audience": draft.audience})
    alerts.evaluate(
        session=session,
        keys=keys,
        network_id=place.network.id,
        thresholds=thresholds,
        actor_id=account.id,
        network=place.network,
        changed_levels=(note.level,),
    )
    return posted


def post_family_voice(*, session: Session, keys: Keyring, account: Account, network_id: str, body: object) -> Posted:
    place = _network_for(session, account, network_id)
    if not policy.post_family_voice(place.viewer):
        raise NotFound("No such network")
    if not policy.post_note(place.viewer, network_status=place.network.status):
        raise Conflict("This network is closed; nothing can be added", code="network_closed")
    text = clean_body(body, "your account")
    now = utcnow()
    note_id = new_id()
    note = _new(
        Note,
        id=note_id,
        network_id=place.network.id,
        author_id=account.id,
        kind=NoteKind.family_voice,
        category="other",
        level=Level.observation,
        observed_on=now.date(),
        audience=AudienceKind.network,
        body_sealed=keys.cipher.encrypt(text, context=f"note:{note_id}"),
        created_at=now,
        updated_at=now,
    )
    return _write(session, keys, place, note, text, facts_from(note), {"kind": "family_voice"})


def _write(
    session: Session,
    keys: Keyring,
    place: Standing,
    note: Note,
    body: str,
    facts: policy.NoteFacts,
    details: dict[str, str],
) -> Posted:
    """The steps every new note (its text sealed already) takes: its rows, its first revision, the network
    touched, and the audited change with its outbox event, in the caller's transaction. Written with statements
    compiled once (see patchwork.statements): every post comes this way."""
    connection = session.connection()
    revision_id = new_id()
    revision = {
        "id": revision_id,
        "note_id": note.id,
        "number": 1,
        "body_sealed": keys.cipher.encrypt(body, context=f"revision:{revision_id}"),
        "author_id": note.author_id,
        "created_at": note.created_at,
    }
    written = {key: getattr(note, key) for key in _NOTE_KEYS}
    if connection.dialect.name == "postgresql":
        _WRITE_POSTGRESQL.run(
            connection, {f"note_{k}": v for k, v in written.items()} | {f"revision_{k}": v for k, v in revision.items()}
        )
    else:
        _INSERT_NOTE.run(connection, written)
        _INSERT_REVISION.run(connection, revision)
    make_transient_to_detached(note)  # written: kept in the session as if loaded, later changes saved as usual
    session.add(note)
    rows.touch(session, place.network, utcnow())
    note_id = {"note_id": note.id}
    _INSERT_AUDIENCE_ORGANISATION.run_many(
        connection, [note_id | {"organisation_id": i} for i in sorted(facts.audience_organisations)]
    )
    _INSERT_AUDIENCE_PERSON.run_many(connection, [note_id | {"account_id": u} for u in sorted(facts.audience_people)])
    _INSERT_FAMILY_SHARE.run_many(connection, [note_id | {"account_id": f} for f in sorted(facts.family_shares)])
    changes.record(
        session=session,
        keys=keys,
        action="note.created",
        event="note.created",
        actor_id=note.author_id,
        network_id=place.network.id,
        target_type="note",
        target_id=note.id,
        details=details,
        note=facts,
        note_id=note.id,
    )
    return Posted(note=note, place=place, facts=facts)


def _touch(session: Session, network: Network) -> None:
    rows.touch(session, network, utcnow())


def _new(model: type[Row], **values: Any) -> Row:
    """A new row's object, its model's defaults filled in, made as the session makes a loaded one: building it
    through SQLModel's constructor (an instrumented set per field) costs a tenth of a millisecond for a note."""
    for name, field in model.model_fields.items():
        if name not in values:
            values[name] = field.get_default(call_default_factory=True)
            if values[name] is PydanticUndefined:
                raise TypeError(f"{model.__name__} needs {name}")
    row: Row = inspect(model).class_manager.new_instance()
    instance_state(row).dict.update(values)
    return row


def _insert(model: type[SQLModel]) -> Statement:
    return Statement(insert(model.__table__))  # type: ignore[attr-defined]


_INSERT_NOTE = _insert(Note)
_NOTE_KEYS = [column.key for column in Note.__table__.columns]  # type: ignore[attr-defined]
_INSERT_REVISION = _insert(NoteRevision)
_INSERT_AUDIENCE_ORGANISATION = _insert(NoteAudienceOrganisation)
_INSERT_AUDIENCE_PERSON = _insert(NoteAudiencePerson)
_INSERT_FAMILY_SHARE = _insert(NoteFamilyShare)


def _prefixed_insert(model: type[SQLModel], prefix: str) -> Any:
    """An INSERT of one row whose values are bound as `prefix` + column name."""
    table = model.__table__  # type: ignore[attr-defined]
    return insert(table).values({c.key: bindparam(prefix + c.key, type_=c.type) for c in table.columns})


# PostgreSQL: the note and its first revision in one statement (a round trip fewer); the revision's reference to
# the note is checked at the statement's end, when both rows are there.
_WRITE_POSTGRESQL = Statement(
    _prefixed_insert(NoteRevision, "revision_").add_cte(_prefixed_insert(Note, "note_").cte("written_note"))
)
