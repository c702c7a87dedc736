"""Networks: following one, acting as its lead, inviting its family, reading its access log and exporting it."""

from __future__ import annotations

from dataclasses import dataclass

from patchwork.policy.accounts import Actor
from patchwork.policy.decision import Decision, allow, deny


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


def see_ended_involvements(actor: Actor, network: NetworkFacts) -> Decision:
    """Who has left the network, when, and why it was ended: for the leads who coordinate it."""
    me = network.member(actor.account_id)
    if me is not None and me.is_lead:
        return allow("leads see whose involvement has ended, when, by whom and why")
    return deny("only a lead sees the ended involvements")


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


def declare_different_child(actor: Actor) -> Decision:
    """Past the near-duplicate rule (twins): anyone who may start a network, with what tells the children apart."""
    return start_network(actor)


def see_linked_networks(actor: Actor, network: NetworkFacts) -> Decision:
    me = network.member(actor.account_id)
    if actor.kind == "practitioner" and me is not None and me.is_lead:
        return allow("a lead sees the networks linked to theirs as a different child with similar details")
    return deny("only a network's leads see its linked networks")


def see_insights(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins see counts across the deployment, never a child")
    return deny("only system admins see insights")


def merge_networks(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins merge duplicate networks")
    return deny("only system admins merge networks")


# Families. A lead invites a family member into one open network; the family member accepts with a one-time code.


def invite_family(actor: Actor, network: NetworkFacts) -> Decision:
    if actor.kind != "practitioner":
        return deny("only practitioners invite family members")
    me = network.member(actor.account_id)
    if me is None or not me.is_lead:
        return deny("only a lead professional invites family members")
    if network.status != "open":
        return deny("the network is not open")
    return allow("leads invite family members into an open network")


def accept_family_invitation(*, accepted: bool, expired: bool, network_status: str) -> Decision:
    if accepted:
        return deny("the invitation has been used already")
    if expired:
        return deny("the invitation has expired")
    if network_status != "open":
        return deny("the network is not open")
    return allow("an unused, unexpired invitation to an open network")


# The access log and exports. The access log shows the family who looked at their child's record; leads see the same
# list so they can answer the family's questions. A system admin reads notes only through a subject access export.


def read_access_log(actor: Actor, network: NetworkFacts, *, family_member: bool) -> Decision:
    if actor.kind == "family" and family_member:
        return allow("family members see who has looked at their child's record")
    me = network.member(actor.account_id)
    if actor.kind == "practitioner" and me is not None and me.is_lead:
        return allow("leads see the access log the family sees")
    return deny("only the network's family members and leads read its access log")


def export_network(actor: Actor, network: NetworkFacts) -> Decision:
    me = network.member(actor.account_id)
    if actor.kind == "practitioner" and me is not None and me.is_lead:
        return allow("leads export what they may see of their network")
    return deny("only a lead exports a network")


def subject_access_export(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins answer subject access requests; it is the only way they read notes")
    return deny("only system admins export everything held about a child")


# A network's family as its practitioners see it, and a family account taking in another network.

NOT_FOR_FAMILY = (
    "This e-mail address cannot be used for a family account. Ask the lead professional to invite you with "
    "another e-mail address"
)


def see_network_family(actor: Actor) -> Decision:
    """Who of the family is in a network, and the invitations waiting: its practitioners' view (a family member has
    the family view instead)."""
    if actor.kind == "practitioner":
        return allow("practitioners see who of the family is in their network")
    return deny("only practitioners see a network's family members")


def family_account_joins(account: Actor, *, active: bool) -> Decision:
    """An invitation accepted with the address of an existing account adds the network to it, if it is an active
    family account: a practitioner's or an admin's address never becomes a family member's."""
    if account.kind == "family" and active:
        return allow("an active family account takes in the networks its holder is invited into")
    return deny(NOT_FOR_FAMILY)
