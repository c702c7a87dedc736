"""How a notification reads for its reader: who did what, worded with the note views' rules (a family member
never sees a sensitive practitioner's name)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import DataCipher
from patchwork.models import Account, Organisation
from patchwork.models.networks import Involvement
from patchwork.models.notes import FamilyMembership, NoteKind
from patchwork.services import notes, sealed_facts


def who(name: str, organisation: str | None) -> str:
    if name == notes.SENSITIVE_AUTHOR:
        return "a practitioner in the network"
    return f"{name}, {organisation}" if organisation else name


def note_text(kind: str, data: Mapping[str, Any], view: notes.NoteView | None, viewer: policy.NoteViewer) -> str | None:
    if view is None:
        return None
    what = "what you wrote" if view.note.kind == NoteKind.family_voice else "your note"
    if kind == "note.created":
        if view.note.kind == NoteKind.family_voice:
            return f"{view.author} (family) wrote in their own words"
        if not view.audience_shown:  # a family member: told only that it is shared with them
            return capital(f"{who(view.author, view.organisation)} shared a note with you")
        return f"Note from {who(view.author, view.organisation)}"
    if kind == "note.replied":
        reply = next((r for r in view.replies if r.id == data.get("reply_id")), None)
        if reply is None:
            return None
        to = what if view.note.author_id == viewer.account_id else "a note you replied to"
        return capital(f"{who(reply.author, reply.organisation)} replied to {to}")
    return capital(f"{what} was acknowledged")


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Person:
    name: str
    detail: str


def people_in(session: Session, cipher: DataCipher, found: list[tuple[str, Mapping[str, Any]]]) -> dict[str, Person]:
    """Who each membership event (its type and facts) is about, by involvement, family membership or account id."""
    involvement_ids = [str(data.get("involvement_id")) for type_, data in found if type_.startswith("involvement.")]
    membership_ids = [str(data.get("membership_id")) for type_, data in found if type_ == "family.joined"]
    account_ids = [str(data.get("user_id")) for type_, data in found if type_ == "lead.changed"]
    people: dict[str, Person] = {}
    if involvement_ids:
        for involvement, name, organisation in session.exec(
            select(Involvement, Account.name, Organisation.name)
            .join(Account, col(Account.id) == Involvement.account_id)
            .join(Organisation, col(Organisation.id) == Involvement.organisation_id)
            .where(col(Involvement.id).in_(involvement_ids))
        ).all():
            people[involvement.id] = Person(name, f"{sealed_facts.role_label(cipher, involvement)}, {organisation}")
    if membership_ids:
        for membership, name in session.exec(
            select(FamilyMembership, Account.name)
            .join(Account, col(Account.id) == FamilyMembership.account_id)
            .where(col(FamilyMembership.id).in_(membership_ids))
        ).all():
            people[membership.id] = Person(name, sealed_facts.relationship(cipher, membership))
    if account_ids:
        for account_id, name in session.exec(select(Account.id, Account.name).where(col(Account.id).in_(account_ids))):
            people[account_id] = Person(name, "")
    return people


def member_text(kind: str, data: Mapping[str, Any], people: Mapping[str, Person]) -> str | None:
    if kind == "lead.changed":
        person = people.get(str(data.get("user_id")))
        if person is None:
            return None
        return (
            f"{person.name} is now a lead professional" if data.get("lead") else f"{person.name} stepped down as lead"
        )
    key = "membership_id" if kind == "family.joined" else "involvement_id"
    person = people.get(str(data.get(key)))
    if person is None:
        return None
    if kind == "involvement.added":
        return f"{person.name} ({person.detail}) joined the network"
    if kind == "involvement.ended":
        return f"{person.name} ({person.detail}) is no longer involved"
    return f"{person.name} ({person.detail}) joined as a family member"
