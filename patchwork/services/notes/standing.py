"""Where a viewer stands: the network they reach a note through, and the one note they may see (404 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.errors import NotFound
from patchwork.models import Account
from patchwork.models.networks import Involvement, InvolvementStatus, Network
from patchwork.models.notes import (
    FamilyMembership,
    Note,
)
from patchwork.services.visibility import facts_of, standing_in, viewer_in


@dataclass(frozen=True)
class Standing:
    account: Account
    network: Network
    viewer: policy.NoteViewer
    involvement: Involvement | None = None  # the viewer's, when they are a practitioner member


def _network_for(session: Session, account: Account, network_id: str) -> Standing:
    network = session.get(Network, network_id) if len(network_id) == 36 else None
    while network is not None and network.merged_into_id:
        network = session.get(Network, network.merged_into_id)
    if network is None:
        raise NotFound("No such network")
    viewer, involvement = standing_in(session, account, network)
    if not (viewer.member or viewer.family_member):
        raise NotFound("No such network")
    return Standing(account=account, network=network, viewer=viewer, involvement=involvement)


def standing(*, session: Session, account: Account, network_id: str) -> Standing:
    return _network_for(session, account, network_id)


def _members(session: Session, network_id: str) -> list[tuple[Involvement, Account]]:
    return list(
        session.exec(
            select(Involvement, Account)
            .join(Account, col(Account.id) == Involvement.account_id)
            .where(Involvement.network_id == network_id, Involvement.status == InvolvementStatus.active)
        ).all()
    )


def _family(session: Session, network_id: str) -> list[tuple[FamilyMembership, Account]]:
    return list(
        session.exec(
            select(FamilyMembership, Account)
            .join(Account, col(Account.id) == FamilyMembership.account_id)
            .where(FamilyMembership.network_id == network_id, FamilyMembership.active == True)  # noqa: E712
        ).all()
    )


@dataclass(frozen=True)
class Visible:
    note: Note
    place: Standing
    facts: policy.NoteFacts


def _visible_note(session: Session, account: Account, note_id: str) -> Visible:
    """The single-note path: the policy itself decides, and a note the viewer may not see does not exist."""
    note = session.get(Note, note_id) if isinstance(note_id, str) and len(note_id) == 36 else None
    if note is None:
        raise NotFound("No such note")
    network = session.get(Network, note.network_id)
    if network is None:
        raise NotFound("No such note")
    viewer = viewer_in(session, account, network)
    facts = facts_of(session, note)
    if not policy.see_note(viewer, facts, history_rule=network.history_rule):
        raise NotFound("No such note")
    return Visible(note=note, place=Standing(account=account, network=network, viewer=viewer), facts=facts)


def network_of_note(*, session: Session, account: Account, note_id: str) -> str:
    """The network of a note the viewer may see (404 otherwise, like any other path)."""
    return _visible_note(session, account, note_id).note.network_id
