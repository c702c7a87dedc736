"""Taking part in a network: starting one for a child, registering and ending involvement, leads, and what a lead
sets (the history rule, open or closed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from patchwork import limits, outbox, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, Forbidden, Invalid, NotFound
from patchwork.models.networks import HistoryRule, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.services import audit, changes, children, network_links, reasons, sealed_facts
from patchwork.services.children import ChildIdentity
from patchwork.services.networks.views import _is_uuid, _network, _touch, _visible_network, facts
from patchwork.services.validation import Fields


@dataclass(frozen=True)
class InvolvementDetails:
    role_label: object
    reason: object
    contact: object = ""
    sensitive: bool = False


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
    outbox.start_counter(session=session, network_id=network.id)
    audit.record(
        session=session, key=keys.audit, action="network.created", actor_id=actor.account_id, network_id=network.id
    )
    if declared is not None and duplicates:
        others = network_links.networks_of_children(session, [c.id for c in duplicates])
        network_links.link(session=session, keys=keys, actor=actor, network=network, others=others, declared=declared)
    _add_involvement(session, keys, actor, network, details)
    return network


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


def endable(session: Session, actor: policy.Actor, network_id: str, involvement_id: str) -> tuple[Network, Involvement]:
    """The network and the active involvement the actor may end, or why not."""
    network, network_facts = _visible_network(session, actor, network_id)
    involvement = session.get(Involvement, involvement_id) if _is_uuid(involvement_id) else None
    if involvement is None or involvement.network_id != network.id:
        raise NotFound("No such involvement")
    if involvement.status != InvolvementStatus.active:
        raise Conflict("This involvement has already ended", code="already_ended")
    if not policy.end_involvement(actor, network_facts, involvement.account_id):
        raise Forbidden("Only its holder or a lead professional can end an involvement", code="not_permitted")
    return network, involvement


def end_involvement(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    network_id: str,
    involvement_id: str,
    reason: object = None,
    reason_required: bool = False,
) -> Involvement:
    """Ends an involvement. `reason_required`: ending someone else's needs a reason (the pages ask for one; the
    API's is optional); leaving needs none. The reason is kept in the audit event."""
    network, involvement = endable(session, actor, network_id, involvement_id)
    someone_else = involvement.account_id != actor.account_id
    why = reasons.clean(reason, required=reason_required and someone_else, asking="ending this involvement")
    involvement.status = InvolvementStatus.ended
    involvement.ended_at = utcnow()
    involvement.ended_by_id = actor.account_id
    involvement.is_lead = False
    _touch(network, session)
    recorded = changes.record(
        session=session,
        keys=keys,
        action="involvement.ended",
        event="involvement.ended",
        actor_id=actor.account_id,
        network_id=network.id,
        target_type="involvement",
        target_id=involvement.id,
        details=reasons.details(why),
        involvement_id=involvement.id,
        user_id=involvement.account_id,
    )
    involvement.ended_event_id = recorded.id
    session.add(involvement)
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


def set_open(
    *,
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    network_id: str,
    open_: bool,
    reason: object = None,
    reason_required: bool = False,
) -> Network:
    """Closes or reopens the network. `reason_required`: closing needs a reason (the pages ask for one; the API's
    is optional). The reason is kept in the audit event, which the network points to."""
    network = _lead_only(session, actor, network_id)
    wanted = NetworkStatus.open if open_ else NetworkStatus.closed
    if network.status == wanted:
        raise Conflict(f"The network is already {wanted.value}", code=f"already_{wanted.value}")
    why = reasons.clean(reason, required=reason_required and not open_, asking="closing the network")
    network.status = wanted
    network.status_changed_at = utcnow()
    _touch(network, session)
    recorded = changes.record(
        session=session,
        keys=keys,
        action="network.reopened" if open_ else "network.closed",
        event="network.updated",
        actor_id=actor.account_id,
        network_id=network.id,
        details=reasons.details(why),
        status=network.status,
    )
    network.status_event_id = recorded.id
    session.add(network)
    return network
