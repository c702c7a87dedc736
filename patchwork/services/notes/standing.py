"""Where a viewer stands: the network they reach a note through, and the one note they may see (404 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import and_, bindparam, exists, inspect, true
from sqlalchemy import select as sa_select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlmodel import Session, SQLModel, col, select

from patchwork import policy
from patchwork.errors import NotFound
from patchwork.models import Account, Organisation
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network
from patchwork.models.notes import (
    FamilyMembership,
    HistoryOpening,
    Note,
)
from patchwork.services.visibility import facts_of, standing_from, viewer_in
from patchwork.statements import Statement

Row = TypeVar("Row", bound=SQLModel)


@dataclass(frozen=True)
class Standing:
    account: Account
    network: Network
    viewer: policy.NoteViewer
    involvement: Involvement | None = None  # the viewer's, when they are a practitioner member
    child_sealed: str | None = None  # the child's sealed identity, read with the standing (see check_observed_on)
    organisation_name: str | None = None  # the involvement's organisation's, read with it (for what a post shows)


_NETWORKS = Network.__table__  # type: ignore[attr-defined]
_INVOLVEMENTS = Involvement.__table__  # type: ignore[attr-defined]
_OPENINGS = HistoryOpening.__table__  # type: ignore[attr-defined]
_FAMILY = FamilyMembership.__table__  # type: ignore[attr-defined]
_CHILDREN = Child.__table__  # type: ignore[attr-defined]
_ORGANISATIONS = Organisation.__table__  # type: ignore[attr-defined]
# visibility.standing_in's three questions (the viewer's active involvement, a history opened to them, an active
# family membership) and the network itself, in one statement: every request that reaches a network asks them.
# The child's sealed identity comes along (a primary-key read; opened only by a post's observed-on check).
_STANDING = Statement(
    sa_select(
        *_NETWORKS.c,
        *_INVOLVEMENTS.c,
        _ORGANISATIONS.c.name,
        _CHILDREN.c.sealed_identity,
        exists()
        .where(_OPENINGS.c.network_id == _NETWORKS.c.id, _OPENINGS.c.account_id == bindparam("account_id"))
        .label("history_opened"),
        exists()
        .where(
            _FAMILY.c.network_id == _NETWORKS.c.id,
            _FAMILY.c.account_id == bindparam("account_id"),
            _FAMILY.c.active == true(),
        )
        .label("family_member"),
    )
    .select_from(
        _NETWORKS.join(_CHILDREN, _CHILDREN.c.id == _NETWORKS.c.child_id)
        .outerjoin(
            _INVOLVEMENTS,
            and_(
                _INVOLVEMENTS.c.network_id == _NETWORKS.c.id,
                _INVOLVEMENTS.c.account_id == bindparam("account_id"),
                _INVOLVEMENTS.c.status == InvolvementStatus.active,
            ),
        )
        .outerjoin(_ORGANISATIONS, _ORGANISATIONS.c.id == _INVOLVEMENTS.c.organisation_id)
    )
    .where(_NETWORKS.c.id == bindparam("network_id"))
)
_NETWORK_KEYS = [c.key for c in _NETWORKS.c]
_INVOLVEMENT_KEYS = [c.key for c in _INVOLVEMENTS.c]
MERGES_FOLLOWED = 20  # a chain of merged networks longer than this is not followed (merges point at open ones)


def _network_for(session: Session, account: Account, network_id: str) -> Standing:
    """The network (followed through merges) and where the account stands in it, asked as one statement; the
    network and involvement it returns are the session's, as if loaded by it."""
    found = _standing_row(session, account, network_id) if len(network_id) == 36 else None
    for _ in range(MERGES_FOLLOWED):
        if found is None or not found[0]["merged_into_id"]:
            break
        found = _standing_row(session, account, found[0]["merged_into_id"])
    if found is None or found[0]["merged_into_id"]:
        raise NotFound("No such network")
    network_values, involvement_values, organisation_name, child_sealed, history_opened, family_member = found
    network = _as_loaded(session, Network, network_values)
    involved = _as_loaded(session, Involvement, involvement_values) if involvement_values is not None else None
    viewer, involvement = standing_from(
        account,
        involvement=involved,
        history_rule=network.history_rule,
        history_opened=history_opened,
        family_member=family_member,
    )
    if not (viewer.member or viewer.family_member):
        raise NotFound("No such network")
    return Standing(
        account=account,
        network=network,
        viewer=viewer,
        involvement=involvement,
        child_sealed=child_sealed,
        organisation_name=organisation_name if involvement is not None else None,
    )


def _standing_row(
    session: Session, account: Account, network_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None, str, bool, bool] | None:
    session.flush()  # what this unit of work changed is read back, as a query through the session would
    rows = _STANDING.rows(session.connection(), {"network_id": network_id, "account_id": account.id})
    if not rows:
        return None
    row = rows[0]
    split = len(_NETWORK_KEYS)
    network = dict(zip(_NETWORK_KEYS, row[:split], strict=True))
    involvement = dict(zip(_INVOLVEMENT_KEYS, row[split : split + len(_INVOLVEMENT_KEYS)], strict=True))
    organisation_name, child_sealed, history_opened, family_member = row[-4:]
    found = involvement if involvement["id"] is not None else None
    return network, found, organisation_name, str(child_sealed), bool(history_opened), bool(family_member)


def _as_loaded(session: Session, model: type[Row], values: dict[str, Any]) -> Row:
    """The session's object for this row: the one it holds already, or one made from `values` and added as if the
    session had loaded it (clean, its later changes saved as usual)."""
    mapper = inspect(model)
    held = session.identity_map.get(mapper.identity_key_from_primary_key((values["id"],)))
    if held is not None:
        return cast(Row, held)
    row: Row = mapper.class_manager.new_instance()
    instance_state(row).dict.update(values)
    make_transient_to_detached(row)
    session.add(row)
    return row


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
