"""Notes: who sees a note and what of it, who may post, revise, redact, reply and acknowledge, and which
involvements a family member sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patchwork.policy.decision import Decision, allow, deny

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


def family_sees_involvement(*, sensitive: bool) -> Decision:
    if sensitive:
        return deny("sensitive involvements are hidden from family members, everywhere")
    return allow("family members see who is involved")


def view_as_family(viewer: NoteViewer) -> Decision:
    if viewer.kind == "family" and viewer.family_member:
        return allow("family members see their network's family view")
    return deny("only the network's family members see its family view")
