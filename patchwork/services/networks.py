"""Networks of concern: find a child, start a network, register and end involvement, leads, merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher, Keyring
from patchwork.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from patchwork.models import Account, Organisation
from patchwork.models.audit import AuditEvent
from patchwork.models.events import EventCounter
from patchwork.models.family import FamilyInvitation
from patchwork.models.networks import Child, HistoryRule, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import FamilyMembership, HistoryOpening, Note
from patchwork.models.notifications import NotificationMark
from patchwork.services import activity, alerts, audit, changes, children, events, network_links, sealed_facts
from patchwork.services.children import ChildIdentity, SearchQuery
from patchwork.services.validation import Fields
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
class InvolvementDetails:
    role_label: object
    reason: object
    contact: object = ""
    sensitive: bool = False


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


def clean_involvement(details: InvolvementDetails) -> tuple[str, str, str]:
    fields = Fields()
    role = fields.text("role_label", details.role_label, label="Your role", max_length=limits.ROLE_LABEL)
    reason = fields.text("reason", details.reason, label="Reason for joining", max_length=limits.INVOLVEMENT_REASON)
    contact = fields.text("contact", details.contact, label="Work contact", max_length=limits.CONTACT, required=False)
    fields.check()
    return role, reason, contact


def start_network(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    identity: ChildIdentity,
    details: InvolvementDetails,
    different_child: network_links.DifferentChild | None = None,
) -> Network:
    """A new network for a child. A child with similar details refuses it (possible_duplicate), unless the
    practitioner says what tells the children apart and why (twins): then the networks are linked for leads."""
    if not policy.start_network(actor) or actor.organisation_id is None:
        raise NotFound("No such page")
    clean_involvement(details)  # every field checked before anything is looked up or written
    declared = network_links.clean(different_child) if different_child is not None else None
    duplicates = children.near_duplicates(session=session, cipher=keys.cipher, index=keys.index, identity=identity)
    if duplicates and declared is None:
        raise Conflict(
            "A network may already exist for this child. Search with the child's exact details to find it, or say "
            "what tells the children apart (different_child)",
            code="possible_duplicate",
        )
    if declared is not None and any(children.same_nhs_number(keys.cipher, c, identity) for c in duplicates):
        raise Conflict(
            "A network exists for a child with this NHS number: it is the same child. Search for it",
            code="same_nhs_number",
        )
    child = children.seal(session=session, cipher=keys.cipher, index=keys.index, identity=identity)
    network = Network(child_id=child.id, created_by_id=actor.account_id)
    session.add(network)
    session.flush()
    events.start_counter(session=session, network_id=network.id)
    audit.record(
        session=session, key=keys.audit, action="network.created", actor_id=actor.account_id, network_id=network.id
    )
    if declared is not None and duplicates:
        others = network_links.networks_of_children(session, [c.id for c in duplicates])
        network_links.link(session=session, keys=keys, actor=actor, network=network, others=others, declared=declared)
    _add_involvement(session, keys, actor, network, details)
    return network


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


def joinable(*, session: Session, actor: policy.Actor, network_id: str) -> Network:
    """The network a practitioner may register in, or the reason they cannot."""
    if not policy.practitioner_work(actor):
        raise NotFound("No such network")  # before anything about the network, even that it is closed
    network = _network(session, network_id)
    network_facts = facts(session, network)
    if network_facts.member(actor.account_id) is not None:
        raise Conflict("You are already a member of this network", code="already_member")
    if network.status == NetworkStatus.closed:
        raise Conflict("This network is closed. Ask its lead professional to reopen it", code="network_closed")
    if not policy.join_network(actor, network_facts):
        raise NotFound("No such network")
    return network


def register_involvement(
    *, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, details: InvolvementDetails
) -> Involvement:
    network = joinable(session=session, actor=actor, network_id=network_id)
    return _add_involvement(session, keys, actor, network, details)


def _add_involvement(
    session: Session, keys: Keyring, actor: policy.Actor, network: Network, details: InvolvementDetails
) -> Involvement:
    role, reason, contact = clean_involvement(details)
    assert actor.organisation_id is not None, "policy lets only practitioners of an organisation join"
    involvement = sealed_facts.new_involvement(
        keys.cipher,
        network_id=network.id,
        account_id=actor.account_id,
        organisation_id=actor.organisation_id,
        sensitive=details.sensitive,
        text=sealed_facts.InvolvementText(role, reason, contact),
    )
    session.add(involvement)
    _touch(network, session)
    session.flush()
    changes.record(
        session=session,
        keys=keys,
        action="involvement.added",
        event="involvement.added",
        actor_id=actor.account_id,
        network_id=network.id,
        target_type="involvement",
        target_id=involvement.id,
        involvement_id=involvement.id,
        user_id=actor.account_id,
    )
    return involvement


def end_involvement(
    *, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, involvement_id: str
) -> Involvement:
    network, network_facts = _visible_network(session, actor, network_id)
    involvement = session.get(Involvement, involvement_id) if _is_uuid(involvement_id) else None
    if involvement is None or involvement.network_id != network.id:
        raise NotFound("No such involvement")
    if involvement.status != InvolvementStatus.active:
        raise Conflict("This involvement has already ended", code="already_ended")
    if not policy.end_involvement(actor, network_facts, involvement.account_id):
        raise Forbidden("Only its holder or a lead professional can end an involvement", code="not_permitted")
    involvement.status = InvolvementStatus.ended
    involvement.ended_at = utcnow()
    involvement.ended_by_id = actor.account_id
    involvement.is_lead = False
    session.add(involvement)
    _touch(network, session)
    changes.record(
        session=session,
        keys=keys,
        action="involvement.ended",
        event="involvement.ended",
        actor_id=actor.account_id,
        network_id=network.id,
        target_type="involvement",
        target_id=involvement.id,
        involvement_id=involvement.id,
        user_id=involvement.account_id,
    )
    return involvement


def appoint_lead(
    *, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, user_id: object
) -> Involvement:
    network, network_facts = _visible_network(session, actor, network_id)
    target_id = user_id if isinstance(user_id, str) else ""
    target = network_facts.member(target_id)
    if target is None:
        raise Invalid({"user_id": "Choose an active member of this network"}, "A lead must be an active member")
    if target.is_lead:
        raise Conflict("This member is already a lead professional", code="already_lead")
    if network.status != NetworkStatus.open:
        raise Conflict("This network is closed. Ask its lead professional to reopen it", code="network_closed")
    decision = policy.appoint_lead(actor, network_facts, target_id)
    if not decision:
        raise Forbidden(f"You cannot appoint this lead: {decision.reason}", code="not_permitted")
    involvement = session.exec(
        select(Involvement).where(
            Involvement.network_id == network.id,
            Involvement.account_id == target_id,
            Involvement.status == InvolvementStatus.active,
        )
    ).one()
    involvement.is_lead = True
    involvement.lead_since = utcnow()
    session.add(involvement)
    _touch(network, session)
    changes.record(
        session=session,
        keys=keys,
        action="lead.appointed",
        event="lead.changed",
        actor_id=actor.account_id,
        network_id=network.id,
        target_type="account",
        target_id=target_id,
        user_id=target_id,
        lead=True,
    )
    return involvement


def step_down(*, session: Session, keys: Keyring, actor: policy.Actor, network_id: str) -> Involvement:
    network, network_facts = _visible_network(session, actor, network_id)
    me = network_facts.member(actor.account_id)
    if me is None or not me.is_lead:
        raise Forbidden("You are not a lead professional of this network", code="not_lead")
    involvement = session.exec(
        select(Involvement).where(
            Involvement.network_id == network.id,
            Involvement.account_id == actor.account_id,
            Involvement.status == InvolvementStatus.active,
        )
    ).one()
    involvement.is_lead = False
    involvement.lead_since = None
    session.add(involvement)
    _touch(network, session)
    changes.record(
        session=session,
        keys=keys,
        action="lead.stepped_down",
        event="lead.changed",
        actor_id=actor.account_id,
        network_id=network.id,
        target_type="account",
        target_id=actor.account_id,
        user_id=actor.account_id,
        lead=False,
    )
    return involvement


def _lead_only(session: Session, actor: policy.Actor, network_id: str) -> Network:
    network, network_facts = _visible_network(session, actor, network_id)
    if not policy.lead_action(actor, network_facts):
        raise Forbidden("Only a lead professional can do this", code="not_lead")
    return network


def set_history_rule(*, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, rule: object) -> Network:
    network = _lead_only(session, actor, network_id)
    if rule not in (HistoryRule.from_joining, HistoryRule.full):
        raise Invalid({"history_rule": "Choose what new members can see"})
    network.history_rule = str(rule)
    _touch(network, session)
    changes.record(
        session=session,
        keys=keys,
        action="network.history_rule_set",
        event="network.updated",
        actor_id=actor.account_id,
        network_id=network.id,
        details={"history_rule": network.history_rule},
        history_rule=network.history_rule,
    )
    return network


def set_open(*, session: Session, keys: Keyring, actor: policy.Actor, network_id: str, open_: bool) -> Network:
    network = _lead_only(session, actor, network_id)
    wanted = NetworkStatus.open if open_ else NetworkStatus.closed
    if network.status == wanted:
        raise Conflict(f"The network is already {wanted.value}", code=f"already_{wanted.value}")
    network.status = wanted
    network.status_changed_at = utcnow()
    _touch(network, session)
    changes.record(
        session=session,
        keys=keys,
        action="network.reopened" if open_ else "network.closed",
        event="network.updated",
        actor_id=actor.account_id,
        network_id=network.id,
        status=network.status,
    )
    return network


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


def today() -> date:
    return utcnow().date()
