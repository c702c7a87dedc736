"""Who may do what. Pure: plain facts in, a Decision with its reason out. No I/O, no project imports."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta


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


# Notes. A viewer's standing in one network, and one note's facts, decide whether the viewer may see it.
# services/note_queries.py turns the same rule into SQL for lists; a property test holds the two together.


@dataclass(frozen=True)
class NoteViewer:
    account_id: str
    kind: str  # practitioner | family | admin
    member: bool  # an active practitioner involvement in this network
    organisation_id: str | None  # of that involvement
    joined_at: datetime | None  # when that involvement started
    is_lead: bool
    history_opened: bool  # a lead opened the earlier history to this viewer
    family_member: bool  # an active family membership in this network


@dataclass(frozen=True)
class NoteFacts:
    author_id: str
    kind: str  # practitioner | family_voice
    audience: str  # network | lead | organisations | people
    audience_organisations: frozenset[str]
    audience_people: frozenset[str]
    family_shares: frozenset[str]
    created_at: datetime


def see_note(viewer: NoteViewer, note: NoteFacts, *, history_rule: str) -> Decision:
    if viewer.kind == "family":
        if not viewer.family_member:
            return deny("only the network's family members see what is shared with families")
        if note.kind == "family_voice" and note.author_id == viewer.account_id:
            return allow("family members see their own account")
        if viewer.account_id in note.family_shares:
            return allow("shared with this family member by name")
        return deny("not shared with this family member")
    if viewer.kind != "practitioner" or not viewer.member:
        return deny("only active members of the network see its notes")
    if note.author_id == viewer.account_id:
        return allow("authors see their own notes while they are members")
    if not _history_allows(viewer, note, history_rule):
        return deny("posted before this member joined")
    if note.kind == "family_voice":
        return allow("family voice is seen by every practitioner member")
    if note.audience == "network":
        return allow("shared with the whole network")
    if note.audience == "lead":
        return allow("shared with the leads") if viewer.is_lead else deny("shared with the leads only")
    if note.audience == "organisations":
        if viewer.organisation_id in note.audience_organisations:
            return allow("shared with this member's organisation")
        return deny("shared with other organisations")
    if note.audience == "people":
        if viewer.account_id in note.audience_people:
            return allow("shared with this member by name")
        return deny("shared with other people")
    return deny("unknown audience")


def _history_allows(viewer: NoteViewer, note: NoteFacts, history_rule: str) -> bool:
    if history_rule == "full" or viewer.history_opened:
        return True
    return viewer.joined_at is not None and note.created_at >= viewer.joined_at


def see_acknowledgements(viewer: NoteViewer, note: NoteFacts) -> Decision:
    if viewer.account_id == note.author_id:
        return allow("authors see who has acknowledged")
    if viewer.member and viewer.is_lead:
        return allow("leads see who has acknowledged")
    return deny("only the author and the leads see who has acknowledged")


def post_note(viewer: NoteViewer, *, network_status: str) -> Decision:
    if network_status != "open":
        return deny("the network is not open")
    if viewer.kind == "practitioner" and viewer.member:
        return allow("members post notes")
    if viewer.kind == "family" and viewer.family_member:
        return allow("family members post their own account")
    return deny("only members post notes")


def revise_note(viewer: NoteViewer, note: NoteFacts) -> Decision:
    if note.author_id == viewer.account_id and (viewer.member or viewer.family_member):
        return allow("authors revise their own notes")
    return deny("only the author revises a note")


def redact_note(viewer: NoteViewer, note: NoteFacts) -> Decision:
    if note.author_id == viewer.account_id and (viewer.member or viewer.family_member):
        return allow("authors may redact their own notes")
    if viewer.member and viewer.is_lead:
        return allow("leads may redact notes they can see")
    return deny("only the author or a lead redacts a note")


def reply_to_note(viewer: NoteViewer, note: NoteFacts) -> Decision:
    if viewer.kind == "practitioner" and viewer.member:
        return allow("members who can see a note may reply")
    return deny("only practitioner members reply")


def acknowledge_note(viewer: NoteViewer, note: NoteFacts) -> Decision:
    if viewer.kind != "practitioner" or not viewer.member:
        return deny("only practitioner members acknowledge notes")
    if note.author_id == viewer.account_id:
        return deny("authors do not acknowledge their own notes")
    return allow("members acknowledge notes they have read")


def open_history(viewer: NoteViewer) -> Decision:
    if viewer.member and viewer.is_lead:
        return allow("leads open earlier history to newcomers")
    return deny("only a lead opens earlier history")


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


def family_sees_involvement(*, sensitive: bool) -> Decision:
    if sensitive:
        return deny("sensitive involvements are hidden from family members, everywhere")
    return allow("family members see who is involved")


def sees_as_family(actor: Actor) -> Decision:
    """A family member's networks are those they were invited into, seen through the family view of each."""
    if actor.kind == "family":
        return allow("family members see the networks they were invited into, as a family member")
    return deny("practitioners and admins see networks through their involvements")


def view_as_family(viewer: NoteViewer) -> Decision:
    if viewer.kind == "family" and viewer.family_member:
        return allow("family members see their network's family view")
    return deny("only the network's family members see its family view")


def practitioner_work(actor: Actor) -> Decision:
    """Pages that only make sense for practitioners (search, start a network, export the chronology)."""
    if actor.kind == "practitioner":
        return allow("practitioners do this work")
    return deny("only practitioners do this")


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


# Alerts. Weak signals add up: an alert is raised when notes accumulate, and judged again for each recipient at the
# moment of viewing, over the notes that recipient may see, like a note. services/alerts.py stores and evaluates them.

LEVELS = ("observation", "concern", "urgent")


@dataclass(frozen=True)
class AlertThresholds:
    min_notes: int = 3
    min_organisations: int = 2
    window_days: int = 30
    min_level: str = "concern"


@dataclass(frozen=True)
class Signal:
    """One note as the alert rules count it: its current level (after revisions), whether it is redacted, the date
    the thing was observed, and the organisation it came from (None for family voice, which is never a signal)."""

    note_id: str
    organisation_id: str | None
    level: str
    observed_on: date
    redacted: bool = False


def counts_as_signal(signal: Signal, thresholds: AlertThresholds) -> bool:
    return (
        not signal.redacted
        and signal.organisation_id is not None
        and signal.level in LEVELS
        and LEVELS.index(signal.level) >= LEVELS.index(thresholds.min_level)
    )


def accumulation(signals: Iterable[Signal], thresholds: AlertThresholds) -> tuple[Signal, ...]:
    """The notes of the latest window of `window_days` days (by date observed: a note on day 1 and one on day 30 are
    within 30 days; day 31 is not) that holds `min_notes` or more signals from `min_organisations` or more
    organisations; empty when no window does."""
    counted = sorted((s for s in signals if counts_as_signal(s, thresholds)), key=lambda s: (s.observed_on, s.note_id))
    days = [s.observed_on for s in counted]
    span = timedelta(days=thresholds.window_days - 1)
    for end in reversed(range(thresholds.min_notes - 1, len(counted))):
        start = bisect_left(days, days[end] - span, 0, end + 1)
        if end + 1 - start >= thresholds.min_notes:
            window = tuple(counted[start : end + 1])
            if len({s.organisation_id for s in window}) >= thresholds.min_organisations:
                return window
    return ()


def urgent_signals(signals: Iterable[Signal]) -> tuple[Signal, ...]:
    return tuple(s for s in signals if not s.redacted and s.organisation_id is not None and s.level == "urgent")


ADMIN_ALERTS = ("escalation", "no_lead")  # the two ways an organisation admin learns a network needs attention


def alert_shown_to_lead(
    viewer: NoteViewer, *, kind: str, visible: Iterable[Signal], thresholds: AlertThresholds
) -> tuple[Signal, ...]:
    """The notes a lead is shown an alert with, judged now over the alert's notes that this lead may see (the
    caller selects those with note_queries.visible, the SQL form of see_note); empty means the alert is not shown:
    a lead who may not see enough of its notes learns nothing of it. No lead alert is for organisation admins."""
    if viewer.kind != "practitioner" or not viewer.member or not viewer.is_lead:
        return ()
    if kind == "accumulation":
        return accumulation(visible, thresholds)
    if kind in ("urgent", "escalation"):
        return urgent_signals(visible)
    return ()


def see_alert_as_admin(actor: Actor, *, kind: str, own_members: int) -> Decision:
    """An organisation admin is shown an escalation or no lead alert of a network that some of their own
    organisation's practitioners belong to, and only that: which of them, and how long an urgent note waited."""
    if kind not in ADMIN_ALERTS:
        return deny("only escalation and no lead alerts reach organisation admins")
    if actor.kind != "practitioner" or not actor.is_org_admin or own_members == 0:
        return deny("only admins of an organisation with members in the network")
    return allow("an organisation admin learns that a network with their practitioners needs attention")


def act_on_alert(*, state: str, as_lead: bool, as_admin: bool, kind: str, resolving: bool) -> Decision:
    """Who may acknowledge or resolve an alert they are shown: a lead, any of theirs; an organisation admin, a no
    lead alert, and acknowledge (not resolve) an escalation, whose outcome is the lead's to record."""
    if state == "resolved":
        return deny("the alert has been resolved")
    if as_lead and kind != "no_lead":
        return allow("leads acknowledge and resolve their network's alerts")
    if as_admin and kind == "no_lead":
        return allow("organisation admins acknowledge and resolve a no lead alert")
    if as_admin and kind == "escalation" and not resolving:
        return allow("organisation admins acknowledge an escalation")
    return deny("the outcome of this alert is for a lead professional to record")
