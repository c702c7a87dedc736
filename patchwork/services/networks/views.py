"""Networks as their members see them: the network and its members, a search for a child, and a person's own
networks with their cursors for live updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher, Keyring
from patchwork.errors import NotFound, TooManyRequests
from patchwork.models import Account, Organisation
from patchwork.models.audit import AuditEvent
from patchwork.models.events import EventCounter
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import HistoryOpening
from patchwork.services import activity, audit, children, network_links, sealed_facts
from patchwork.services.children import ChildIdentity, SearchQuery
from patchwork.services.visibility import member_viewer, viewer_in

SEARCH_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class MemberView:
    involvement: Involvement
    name: str
    organisation: Organisation
    role_label: str
    contact: str


@dataclass(frozen=True)
class NetworkView:
    network: Network
    child: ChildIdentity
    members: list[MemberView]
    last_activity_at: datetime  # as the viewer may see it (services.activity)
    me: Involvement | None = None
    contacts_shown: bool = True  # members' work contact routes; not for family members
    linked: list[network_links.LinkedNetwork] = field(default_factory=list)  # for leads: see network_links

    @property
    def leads(self) -> list[MemberView]:
        return [m for m in self.members if m.involvement.is_lead]

    @property
    def am_lead(self) -> bool:
        return self.me is not None and self.me.is_lead


@dataclass(frozen=True)
class SearchMatch:
    network_id: str
    members: list[MemberView]
    already_member: bool
    status: str = NetworkStatus.open

    @property
    def joinable(self) -> bool:
        return self.status == NetworkStatus.open and not self.already_member


@dataclass(frozen=True)
class MyNetwork:
    network: Network
    child: ChildIdentity
    role_label: str
    is_lead: bool
    member_count: int
    last_activity_at: datetime  # as this person may see it (services.activity)
    organisations: int = field(default=0)


def facts(session: Session, network: Network) -> policy.NetworkFacts:
    rows = session.exec(
        select(Involvement).where(Involvement.network_id == network.id, Involvement.status == InvolvementStatus.active)
    ).all()
    return policy.NetworkFacts(
        status=network.status,
        members=tuple(policy.Member(r.account_id, r.organisation_id, r.is_lead) for r in rows),
    )


def _member(cipher: DataCipher, involvement: Involvement, account: Account, organisation: Organisation) -> MemberView:
    text = sealed_facts.open_involvement(cipher, involvement)
    return MemberView(
        involvement=involvement,
        name=account.name,
        organisation=organisation,
        role_label=text.role_label,
        contact=text.contact,
    )


def _members(session: Session, cipher: DataCipher, network_id: str) -> list[MemberView]:
    rows = session.exec(
        select(Involvement, Account, Organisation)
        .join(Account, col(Account.id) == Involvement.account_id)
        .join(Organisation, col(Organisation.id) == Involvement.organisation_id)
        .where(Involvement.network_id == network_id, Involvement.status == InvolvementStatus.active)
        .order_by(col(Involvement.is_lead).desc(), col(Involvement.started_at))
    ).all()
    return [_member(cipher, i, a, o) for i, a, o in rows]


def active_members(session: Session, cipher: DataCipher, network_id: str) -> list[MemberView]:
    return _members(session, cipher, network_id)


def member_view(*, session: Session, cipher: DataCipher, involvement: Involvement) -> MemberView:
    account = session.get(Account, involvement.account_id)
    organisation = session.get(Organisation, involvement.organisation_id)
    assert account is not None and organisation is not None
    return _member(cipher, involvement, account, organisation)


def _network(session: Session, network_id: str, *, follow_merges: bool = True) -> Network:
    network = session.get(Network, network_id) if _is_uuid(network_id) else None
    hops = 0
    while network is not None and follow_merges and network.merged_into_id and hops < 10:
        network = session.get(Network, network.merged_into_id)
        hops += 1
    if network is None:
        raise NotFound("No such network")
    return network


def _is_uuid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def _visible_network(session: Session, actor: policy.Actor, network_id: str) -> tuple[Network, policy.NetworkFacts]:
    network = _network(session, network_id)
    network_facts = facts(session, network)
    if not policy.view_network(actor, network_facts):
        raise NotFound("No such network")
    return network, network_facts


def _touch(network: Network, session: Session) -> None:
    network.last_activity_at = utcnow()
    session.add(network)


def search(
    *, session: Session, keys: Keyring, actor: policy.Actor, query: SearchQuery, per_hour: int
) -> SearchMatch | None:
    if not policy.search_children(actor):
        raise NotFound("No such page")
    since = utcnow() - SEARCH_WINDOW
    done = session.exec(
        select(func.count()).where(
            AuditEvent.actor_id == actor.account_id, AuditEvent.action == "child.searched", col(AuditEvent.at) > since
        )
    ).one()
    if done >= per_hour:
        raise TooManyRequests(
            f"You have made {per_hour} searches in the last hour. Wait a while before searching again",
            retry_after=int(SEARCH_WINDOW.total_seconds()),
        )
    child_id = children.find_exact(session=session, index=keys.index, query=query)
    network = session.exec(select(Network).where(Network.child_id == child_id)).first() if child_id else None
    if network is not None and network.merged_into_id:
        network = _network(session, network.id)
    audit.record(
        session=session,
        key=keys.audit,
        action="child.searched",
        actor_id=actor.account_id,
        network_id=network.id if network else None,
        details={"matched": network is not None},
    )
    if network is None:
        return None
    members = _members(session, keys.cipher, network.id)
    return SearchMatch(
        network_id=network.id,
        members=members,
        already_member=any(m.involvement.account_id == actor.account_id for m in members),
        status=network.status,
    )


def view_network(
    *, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, audited: bool = True
) -> NetworkView:
    network, _ = _visible_network(session, actor, network_id)
    if audited:
        audit.record(
            session=session, key=keys.audit, action="network.viewed", actor_id=actor.account_id, network_id=network.id
        )
    members = _members(session, keys.cipher, network.id)
    me = next((m.involvement for m in members if m.involvement.account_id == actor.account_id), None)
    child_row = session.get(Child, network.child_id)
    assert child_row is not None
    account = session.get(Account, actor.account_id)
    assert account is not None
    seen = activity.as_seen_by(session, {network.id: (network, viewer_in(session, account, network))})
    return NetworkView(
        network=network,
        child=children.open_identity(keys.cipher, child_row),
        members=members,
        last_activity_at=seen[network.id],
        me=me,
        linked=_linked(session, keys, actor, network, members) if me is not None and me.is_lead else [],
    )


def _linked(
    session: Session, keys: Keyring, actor: policy.Actor, network: Network, members: list[MemberView]
) -> list[network_links.LinkedNetwork]:
    network_facts = policy.NetworkFacts(
        status=network.status,
        members=tuple(
            policy.Member(m.involvement.account_id, m.involvement.organisation_id, m.involvement.is_lead)
            for m in members
        ),
    )
    mine = set(
        session.exec(
            select(Involvement.network_id).where(
                Involvement.account_id == actor.account_id, Involvement.status == InvolvementStatus.active
            )
        ).all()
    )
    return network_links.linked_to(
        session=session, keys=keys, actor=actor, network_id=network.id, facts=network_facts, member_of=mine
    )


def my_cursors(*, session: Session, keys: Keyring, actor: policy.Actor) -> dict[str, str]:
    """Each of the person's networks' head, sealed. Read before a page's content: a page that resumes live
    updates from these misses nothing (and an event it already shows only renders the same again)."""
    rows = session.exec(
        select(EventCounter.network_id, EventCounter.seq)
        .join(Involvement, col(Involvement.network_id) == EventCounter.network_id)
        .where(Involvement.account_id == actor.account_id, Involvement.status == InvolvementStatus.active)
    ).all()
    return {network_id: keys.cursors.seal(network_id, seq) for network_id, seq in rows}


def my_networks(*, session: Session, keys: Keyring, actor: policy.Actor) -> list[MyNetwork]:
    rows = session.exec(
        select(Involvement, Network, Child)
        .join(Network, col(Network.id) == Involvement.network_id)
        .join(Child, col(Child.id) == Network.child_id)
        .where(Involvement.account_id == actor.account_id, Involvement.status == InvolvementStatus.active)
    ).all()
    network_ids = [network.id for _, network, _ in rows]
    opened = set(
        session.exec(
            select(HistoryOpening.network_id).where(
                HistoryOpening.account_id == actor.account_id, col(HistoryOpening.network_id).in_(network_ids)
            )
        ).all()
    )
    seen = activity.as_seen_by(
        session,
        {
            network.id: (network, member_viewer(involvement, history_opened=network.id in opened))
            for involvement, network, _ in rows
        },
    )
    counts: dict[str, tuple[int, int]] = {}
    if network_ids:
        for network_id, members, organisations in session.exec(
            select(
                Involvement.network_id,
                func.count(col(Involvement.id)),
                func.count(func.distinct(Involvement.organisation_id)),
            )
            .where(col(Involvement.network_id).in_(network_ids), Involvement.status == InvolvementStatus.active)
            .group_by(col(Involvement.network_id))
        ).all():
            counts[network_id] = (members, organisations)
    mine = [
        MyNetwork(
            network=network,
            child=children.open_identity(keys.cipher, child),
            role_label=sealed_facts.role_label(keys.cipher, involvement),
            is_lead=involvement.is_lead,
            member_count=counts.get(network.id, (0, 0))[0],
            last_activity_at=seen[network.id],
            organisations=counts.get(network.id, (0, 0))[1],
        )
        for involvement, network, child in rows
    ]
    return sorted(mine, key=lambda item: item.last_activity_at, reverse=True)


def today() -> date:
    return utcnow().date()
