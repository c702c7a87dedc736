"""A system admin's exact look-up of a child's networks, to merge two of them or to read one network's audit
trail: by the child's exact details (as a practitioner searches) or by the network's reference. Every look-up is
audited and rate-limited; near misses find nothing. Unlike a practitioner's search it finds every network whose
child matches, since one child recorded twice is exactly what a merge is for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Invalid, NotFound, TooManyRequests
from patchwork.models import Account, AuditEvent
from patchwork.models.networks import Child, Network
from patchwork.services import audit, children
from patchwork.services.access_log import current_network
from patchwork.services.audit_words import network_reference
from patchwork.services.children import ChildIdentity
from patchwork.services.networks import SEARCH_WINDOW, active_members

ACTION = "child.searched_by_admin"
PURPOSES = ("merge", "audit")
# The fields of a look-up, unprefixed: a reference, or the child's details as the practitioners' search takes them.
FIELDS = ("reference", "family_name", "given_name", "dob_day", "dob_month", "dob_year", "nhs_number")
MAX_FOUND = 10
REFERENCE = re.compile(r"[0-9a-f]{8}(?:[0-9a-f-]{0,28})")


@dataclass(frozen=True)
class NetworkChoice:
    """A network found, described well enough to tell two records of one child apart."""

    id: str
    reference: str
    child: ChildIdentity
    status: str
    started_at: datetime
    started_by: str
    members: int
    leads: tuple[str, ...]


def wanted(raw: Mapping[str, object]) -> bool:
    """Whether the admin typed anything to look up (an untouched look-up leaves a filter off)."""
    return any(isinstance(raw.get(name), str) and str(raw.get(name)).strip() for name in FIELDS)


def find_networks(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    raw: Mapping[str, object],
    purpose: str,
    per_hour: int,
    today: date,
) -> list[NetworkChoice]:
    """The open or closed networks (merged ones followed to where they went) matching a reference or the child's
    exact details; Invalid names the field that is wrong, as the practitioners' search does."""
    if not actor.is_system_admin or purpose not in PURPOSES:
        raise NotFound("No such page")
    _throttle(session, actor, per_hour)
    typed = raw.get("reference")
    reference = typed.strip().lower() if isinstance(typed, str) else ""
    if reference:
        if not REFERENCE.fullmatch(reference):
            raise Invalid({"reference": "Enter the network's reference: the first 8 letters and digits of its id"})
        rows = session.exec(select(Network).where(col(Network.id).startswith(reference)).limit(MAX_FOUND)).all()
    else:
        query = children.clean_query(raw, today=today)
        child_ids = children.find_all_exact(session=session, index=keys.index, query=query)
        rows = session.exec(select(Network).where(col(Network.child_id).in_(child_ids)).limit(MAX_FOUND)).all()
    current = {network.id: network for network in (current_network(session, row.id) for row in rows)}
    found = sorted(current.values(), key=lambda network: (network.created_at, network.id))
    details: dict[str, object] = {
        "purpose": purpose,
        "by": "reference" if reference else "details",
        "matched": len(found),
    }
    if len(found) > 1:  # one found is the event's network; several are named here, so each can be traced
        details["networks"] = [network.id for network in found]
    audit.record(
        session=session,
        key=keys.audit,
        action=ACTION,
        actor_id=actor.account_id,
        network_id=found[0].id if len(found) == 1 else None,
        details=details,
    )
    return [_choice(session, keys, network) for network in found]


def _throttle(session: Session, actor: policy.Actor, per_hour: int) -> None:
    since = utcnow() - SEARCH_WINDOW
    done = session.exec(
        select(func.count()).where(
            col(AuditEvent.actor_id) == actor.account_id, col(AuditEvent.action) == ACTION, col(AuditEvent.at) > since
        )
    ).one()
    if done >= per_hour:
        raise TooManyRequests(
            f"You have made {per_hour} look-ups in the last hour. Wait a while before looking up another network",
            retry_after=int(SEARCH_WINDOW.total_seconds()),
        )


def _choice(session: Session, keys: Keyring, network: Network) -> NetworkChoice:
    child = session.get(Child, network.child_id)
    assert child is not None
    starter = session.get(Account, network.created_by_id)
    members = active_members(session, keys.cipher, network.id)
    return NetworkChoice(
        id=network.id,
        reference=network_reference(network.id),
        child=children.open_identity(keys.cipher, child),
        status=network.status,
        started_at=network.created_at,
        started_by=starter.name if starter else "someone whose account is gone",
        members=len(members),
        leads=tuple(member.name for member in members if member.involvement.is_lead),
    )
