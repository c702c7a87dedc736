"""Who may do what. Pure: plain facts in, a Decision with its reason out. No I/O, no project imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str) -> Decision:
    return Decision(True, reason)


def deny(reason: str) -> Decision:
    return Decision(False, reason)


@dataclass(frozen=True)
class Actor:
    account_id: str
    kind: str  # practitioner | family | admin
    organisation_id: str | None
    is_org_admin: bool

    @property
    def is_system_admin(self) -> bool:
        return self.kind == "admin"


def manage_organisations(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins manage organisations")
    return deny("only system admins manage organisations")


def manage_accounts_of(actor: Actor, organisation_id: str | None) -> Decision:
    """Approve, refuse, deactivate or create the accounts of one organisation."""
    if actor.is_system_admin:
        return allow("system admins manage every organisation's accounts")
    if actor.kind == "practitioner" and actor.is_org_admin and organisation_id == actor.organisation_id:
        return allow("organisation admins manage their own organisation's accounts")
    return deny("only that organisation's admins manage its accounts")


def create_account(actor: Actor, organisation_id: str | None, role: str) -> Decision:
    decision = manage_accounts_of(actor, organisation_id)
    if not decision:
        return decision
    if role not in ("practitioner", "org_admin"):
        return deny(f"accounts of role {role!r} are not created this way")
    return allow(decision.reason)


def second_factor_required(*, kind: str, is_org_admin: bool, is_lead: bool, production: bool) -> Decision:
    if not production:
        return deny("a second factor is optional outside production")
    if kind == "admin" or is_org_admin or is_lead:
        return allow("leads and admins must use a second factor in production")
    return deny("a second factor is optional for this account")


@dataclass(frozen=True)
class Member:
    """One active involvement in a network."""

    account_id: str
    organisation_id: str
    is_lead: bool


@dataclass(frozen=True)
class NetworkFacts:
    status: str  # open | closed | merged
    members: tuple[Member, ...]

    def member(self, account_id: str) -> Member | None:
        return next((m for m in self.members if m.account_id == account_id), None)

    @property
    def has_lead(self) -> bool:
        return any(m.is_lead for m in self.members)


def search_children(actor: Actor) -> Decision:
    if actor.kind == "practitioner":
        return allow("practitioners may look for a child's network")
    return deny("only practitioners search for children")


def start_network(actor: Actor) -> Decision:
    if actor.kind == "practitioner" and actor.organisation_id is not None:
        return allow("practitioners may start a network")
    return deny("only practitioners of an organisation start networks")


def view_network(actor: Actor, network: NetworkFacts) -> Decision:
    if network.member(actor.account_id) is not None:
        return allow("active members see their network")
    return deny("only active members see a network")


def join_network(actor: Actor, network: NetworkFacts) -> Decision:
    if actor.kind != "practitioner" or actor.organisation_id is None:
        return deny("only practitioners register involvement")
    if network.status != "open":
        return deny("the network is not open")
    if network.member(actor.account_id) is not None:
        return deny("already a member")
    return allow("any practitioner may register involvement in an open network")


def end_involvement(actor: Actor, network: NetworkFacts, holder_id: str) -> Decision:
    if actor.account_id == holder_id and network.member(actor.account_id) is not None:
        return allow("members may end their own involvement")
    me = network.member(actor.account_id)
    if me is not None and me.is_lead:
        return allow("leads may end anyone's involvement")
    return deny("only the holder or a lead may end an involvement")


def appoint_lead(actor: Actor, network: NetworkFacts, target_id: str) -> Decision:
    me = network.member(actor.account_id)
    if me is None:
        return deny("only members take part in choosing leads")
    if network.status != "open":
        return deny("the network is not open")
    target = network.member(target_id)
    if target is None:
        return deny("a lead must be an active member")
    if target.is_lead:
        return deny("already a lead")
    if me.is_lead:
        return allow("leads may appoint other leads")
    if not network.has_lead and target_id == actor.account_id:
        return allow("a member may step up while the network has no lead")
    return deny("only a lead may appoint leads")


def lead_action(actor: Actor, network: NetworkFacts) -> Decision:
    """Set the history rule, remove members, close or reopen, invite family."""
    me = network.member(actor.account_id)
    if me is not None and me.is_lead:
        return allow("leads coordinate the network")
    return deny("only a lead may do this")


def merge_networks(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins merge duplicate networks")
    return deny("only system admins merge networks")
