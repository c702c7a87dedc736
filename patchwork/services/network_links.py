"""Twins and other children whose details are like another's: declared a different child, linked for the leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.crypto import Keyring
from patchwork.models import Account
from patchwork.models.networks import Network, NetworkLink, NetworkStatus
from patchwork.services import audit
from patchwork.services.validation import Fields

DETAIL_LIMIT = limits.DIFFERENT_CHILD_DETAIL
REASON_LIMIT = limits.DIFFERENT_CHILD_REASON


@dataclass(frozen=True)
class DifferentChild:
    """What the practitioner typed to say the child is not the one with similar details."""

    detail: object
    reason: object


@dataclass(frozen=True)
class Declaration:
    detail: str
    reason: str


@dataclass(frozen=True)
class LinkedNetwork:
    network_id: str
    detail: str
    reason: str
    declared_by: str
    declared_at: datetime
    may_open: bool  # the viewer is a member of the linked network too


def clean(different: DifferentChild) -> Declaration:
    fields = Fields()
    detail = fields.text(
        "different_child_detail", different.detail, label="What tells the children apart", max_length=DETAIL_LIMIT
    )
    reason = fields.text(
        "different_child_reason",
        different.reason,
        label="Why you are sure this is a different child",
        max_length=REASON_LIMIT,
    )
    fields.check()
    return Declaration(detail=detail, reason=reason)


def link(
    *, session: Session, keys: Keyring, actor: policy.Actor, network: Network, others: list[str], declared: Declaration
) -> None:
    """Link a new network to each open network of a child with similar details, and audit the declaration."""
    for other_id in others:
        row = NetworkLink(
            network_id=network.id,
            linked_network_id=other_id,
            detail_sealed="",
            reason_sealed="",
            created_by_id=actor.account_id,
        )
        row.detail_sealed = keys.cipher.encrypt(declared.detail, context=f"network-link-detail:{row.id}")
        row.reason_sealed = keys.cipher.encrypt(declared.reason, context=f"network-link-reason:{row.id}")
        session.add(row)
    for network_id, target in [(network.id, o) for o in others] + [(o, network.id) for o in others]:
        audit.record(
            session=session,
            key=keys.audit,
            action="network.declared_different_child",
            actor_id=actor.account_id,
            network_id=network_id,
            target_type="network",
            target_id=target,
            details={"reason": declared.reason},
        )


def networks_of_children(session: Session, child_ids: list[str]) -> list[str]:
    rows = session.exec(
        select(Network.id).where(col(Network.child_id).in_(child_ids), Network.status != NetworkStatus.merged)
    ).all()
    return list(rows)


def linked_to(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    network_id: str,
    facts: policy.NetworkFacts,
    member_of: set[str],
) -> list[LinkedNetwork]:
    """The networks linked to this one, for its leads; nobody else is shown any."""
    if not policy.see_linked_networks(actor, facts):
        return []
    rows = session.exec(
        select(NetworkLink, Account)
        .join(Account, col(Account.id) == NetworkLink.created_by_id)
        .where(or_(col(NetworkLink.network_id) == network_id, col(NetworkLink.linked_network_id) == network_id))
        .order_by(col(NetworkLink.created_at))
    ).all()
    return [
        LinkedNetwork(
            network_id=row.linked_network_id if row.network_id == network_id else row.network_id,
            detail=keys.cipher.decrypt(row.detail_sealed, context=f"network-link-detail:{row.id}"),
            reason=keys.cipher.decrypt(row.reason_sealed, context=f"network-link-reason:{row.id}"),
            declared_by=account.name,
            declared_at=row.created_at,
            may_open=(row.linked_network_id if row.network_id == network_id else row.network_id) in member_of,
        )
        for row, account in rows
    ]


def move(session: Session, source_id: str, target_id: str) -> None:
    """A merge: links follow the merged network; a link that would join a network to itself goes."""
    session.execute(update(NetworkLink).where(col(NetworkLink.network_id) == source_id).values(network_id=target_id))
    session.execute(
        update(NetworkLink).where(col(NetworkLink.linked_network_id) == source_id).values(linked_network_id=target_id)
    )
    session.execute(delete(NetworkLink).where(col(NetworkLink.network_id) == col(NetworkLink.linked_network_id)))
