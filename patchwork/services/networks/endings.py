"""What ending looks like before and after: the confirmation pages' facts (whose involvement, which network), the
people no longer involved as a lead sees them, and who closed the network, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.errors import Conflict
from patchwork.models import Account, Organisation
from patchwork.models.networks import Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.services import reasons, sealed_facts
from patchwork.services.networks.membership import _lead_only, endable
from patchwork.services.networks.views import MemberView, NetworkView, member_view, view_network


@dataclass(frozen=True)
class Ending:
    """An involvement about to be ended, and the network it is in."""

    view: NetworkView
    member: MemberView
    own: bool


@dataclass(frozen=True)
class Departure:
    """Someone no longer involved: their last involvement, and who ended it, when and why."""

    involvement_id: str
    name: str
    role_label: str
    organisation: str
    ended_at: datetime
    ended_by: str | None
    left: bool  # they ended it themselves
    reason: str | None


def ending(*, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, involvement_id: str) -> Ending:
    network, involvement = endable(session, actor, network_id, involvement_id)
    view = view_network(session=session, keys=keys, actor=actor, network_id=network.id)
    member = member_view(session=session, cipher=keys.cipher, involvement=involvement)
    return Ending(view=view, member=member, own=involvement.account_id == actor.account_id)


def closing(*, session: Session, keys: Keyring, actor: policy.Actor, network_id: str) -> NetworkView:
    """The network a lead is about to close."""
    network = _lead_only(session, actor, network_id)
    if network.status != NetworkStatus.open:
        raise Conflict(f"The network is already {network.status}", code=f"already_{network.status}")
    return view_network(session=session, keys=keys, actor=actor, network_id=network.id)


def closure(session: Session, network: Network) -> reasons.Done | None:
    """Who closed the network, when and why; None while it is open."""
    if network.status != NetworkStatus.closed:
        return None
    done = reasons.recorded(session, [network.status_event_id]).get(network.status_event_id or "")
    if done is None and network.status_changed_at is not None:  # closed before reasons were kept
        return reasons.Done(at=network.status_changed_at, by=None, reason=None)
    return done


def departures(*, session: Session, keys: Keyring, actor: policy.Actor, view: NetworkView) -> list[Departure]:
    """The people whose involvement has ended and who are not involved again, newest first: for the leads."""
    facts = policy.NetworkFacts(
        status=view.network.status,
        members=tuple(
            policy.Member(m.involvement.account_id, m.involvement.organisation_id, m.involvement.is_lead)
            for m in view.members
        ),
    )
    if not policy.see_ended_involvements(actor, facts):
        return []
    active = {m.involvement.account_id for m in view.members}
    rows = session.exec(
        select(Involvement, Account.name, Organisation.name)
        .join(Account, col(Account.id) == Involvement.account_id)
        .join(Organisation, col(Organisation.id) == Involvement.organisation_id)
        .where(Involvement.network_id == view.network.id, Involvement.status == InvolvementStatus.ended)
        .order_by(col(Involvement.ended_at).desc())
    ).all()
    latest: dict[str, tuple[Involvement, str, str]] = {}
    for involvement, name, organisation in rows:
        if involvement.account_id not in active:
            latest.setdefault(involvement.account_id, (involvement, name, organisation))
    if not latest:
        return []
    done = reasons.recorded(session, [i.ended_event_id for i, _, _ in latest.values()])
    enders = dict(
        session.exec(
            select(Account.id, Account.name).where(
                col(Account.id).in_({i.ended_by_id for i, _, _ in latest.values() if i.ended_by_id})
            )
        ).all()
    )
    return [
        Departure(
            involvement_id=involvement.id,
            name=name,
            role_label=sealed_facts.role_label(keys.cipher, involvement),
            organisation=organisation,
            ended_at=involvement.ended_at or involvement.started_at,
            ended_by=enders.get(involvement.ended_by_id or ""),
            left=involvement.ended_by_id == involvement.account_id,
            reason=done[involvement.ended_event_id].reason if involvement.ended_event_id in done else None,
        )
        for involvement, name, organisation in latest.values()
    ]
