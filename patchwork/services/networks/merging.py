"""Merging a duplicate network into another: its members, family, notes and everything attached move across."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import NotFound
from patchwork.models.family import FamilyInvitation
from patchwork.models.networks import Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import FamilyMembership, HistoryOpening, Note
from patchwork.models.notifications import NotificationMark
from patchwork.services import alerts, changes, network_links
from patchwork.services.networks.views import _is_uuid, _touch
from patchwork.services.validation import Fields


def merge(
    *, session: Session, keys: Keyring, actor: policy.Actor, source_id: object, target_id: object, reason: object
) -> Network:
    """Moves members (and everything later rooms attach to a network) from source to target; source points to target."""
    if not policy.merge_networks(actor):
        raise NotFound("No such page")
    fields = Fields()
    why = fields.text("reason", reason, label="Reason for merging", max_length=limits.MERGE_REASON)
    source_text = source_id.strip() if isinstance(source_id, str) else ""
    target_text = target_id.strip() if isinstance(target_id, str) else ""
    source = session.get(Network, source_text) if _is_uuid(source_text) else None
    target = session.get(Network, target_text) if _is_uuid(target_text) else None
    if source is None or source.merged_into_id:
        fields.fail("source_id", "Enter the id of a network that has not been merged")
    if target is None or target.merged_into_id:
        fields.fail("target_id", "Enter the id of a network that has not been merged")
    if source is not None and target is not None and source.id == target.id:
        fields.fail("target_id", "Choose two different networks")
    fields.check()
    assert source is not None and target is not None
    moved = _move_involvements(session, actor, source.id, target.id)
    families = _move_family(session, source.id, target.id)
    counts = {"involvements_moved": moved, "family_memberships_moved": families}
    for model in (Note, FamilyInvitation, HistoryOpening):
        counts[f"{model.__tablename__}s_moved"] = _move_rows(session, model, source.id, target.id)
    network_links.move(session, source.id, target.id)
    alerts.move(session, source.id, target.id)
    # Read marks count the merged-away network's own events, which stay with it: they mean nothing for target.
    session.execute(delete(NotificationMark).where(col(NotificationMark.network_id) == source.id))
    source.status = NetworkStatus.merged
    source.merged_into_id = target.id
    source.status_changed_at = utcnow()
    session.add(source)
    _touch(target, session)
    changes.record(
        session=session,
        keys=keys,
        action="network.merged",
        event="network.updated",
        actor_id=actor.account_id,
        network_id=target.id,
        target_type="network",
        target_id=source.id,
        details={**counts, "reason": why},
        merged_network_id=source.id,
    )
    return target


def _move_involvements(session: Session, actor: policy.Actor, source_id: str, target_id: str) -> int:
    """Every involvement moves; someone active in both keeps one, lead or sensitive if either was."""
    already = {
        i.account_id: i
        for i in session.exec(
            select(Involvement).where(
                Involvement.network_id == target_id, Involvement.status == InvolvementStatus.active
            )
        ).all()
    }
    moved = 0
    for involvement in session.exec(select(Involvement).where(Involvement.network_id == source_id)).all():
        kept = already.get(involvement.account_id)
        if involvement.status == InvolvementStatus.active and kept is not None:
            if involvement.is_lead and not kept.is_lead:
                kept.is_lead, kept.lead_since = True, involvement.lead_since or utcnow()
            kept.sensitive = kept.sensitive or involvement.sensitive
            session.add(kept)
            involvement.status = InvolvementStatus.ended
            involvement.ended_at = utcnow()
            involvement.ended_by_id = actor.account_id
            involvement.is_lead = False
            session.flush()
        involvement.network_id = target_id
        session.add(involvement)
        moved += 1
    session.flush()
    return moved


def _move_family(session: Session, source_id: str, target_id: str) -> int:
    """Family memberships move; a family member already active in the target keeps that one."""
    already = set(
        session.exec(
            select(FamilyMembership.account_id).where(
                FamilyMembership.network_id == target_id, col(FamilyMembership.active).is_(True)
            )
        ).all()
    )
    rows = session.exec(select(FamilyMembership).where(FamilyMembership.network_id == source_id)).all()
    for membership in rows:
        if membership.account_id in already:
            membership.active = False
        membership.network_id = target_id
        session.add(membership)
    session.flush()
    return len(rows)


def _move_rows(
    session: Session, model: type[Note | FamilyInvitation | HistoryOpening], source_id: str, target_id: str
) -> int:
    result = session.execute(update(model).where(col(model.network_id) == source_id).values(network_id=target_id))
    return int(cast("CursorResult[Any]", result).rowcount or 0)
