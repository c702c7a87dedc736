"""Notes: who sees a note and what of it, who may post, revise, redact, reply and acknowledge, and which
involvements a family member sees."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from patchwork.policy.decision import Decision, allow, deny

# Notes. A viewer's standing in one network, and one note's facts, decide whether the viewer may see it.
# services/visibility.py turns the same rule into SQL for lists; a property test holds the two together.


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


# What of a note a viewer is shown beyond its text, who may share with the family, and which events of a network
# reach a viewer (a note's events follow see_note; the rest follow these).


@dataclass(frozen=True)
class NoteParts:
    audience_words: bool  # "Lead professionals only", "Only Tom Fletcher"
    audience_detail: bool  # the organisations and people of the audience, and the family members it is shared with
    basis: bool  # the lawful basis of the share
    others_replies: bool  # replies to a note by someone else
    hides_sensitive: bool  # a sensitive practitioner is shown as "a practitioner in the network"
    plain: bool = False  # told in plain words: who wrote it, when, what, and that it is shared; no level or codes


def note_parts(viewer: NoteViewer, note: NoteFacts) -> NoteParts:
    """A family member is told only that a note is shared with them: no practitioner audience, no basis, no other
    family member's name, no replies except to their own account, and no sensitive practitioner."""
    if viewer.kind == "family":
        return NoteParts(
            audience_words=note.kind == "family_voice",
            audience_detail=False,
            basis=False,
            others_replies=note.author_id == viewer.account_id,
            hides_sensitive=True,
            plain=True,
        )
    return NoteParts(audience_words=True, audience_detail=True, basis=True, others_replies=True, hides_sensitive=False)


def sees_person(viewer: NoteViewer, *, sensitive: bool, own: bool = False) -> Decision:
    """Whether a person's name and organisation are shown to this viewer on a note, reply or acknowledgement."""
    if own or viewer.kind != "family":
        return allow("practitioners see who wrote, replied and acknowledged")
    return family_sees_involvement(sensitive=sensitive)


def post_practitioner_note(viewer: NoteViewer) -> Decision:
    if viewer.kind == "practitioner" and viewer.member:
        return allow("practitioner members post notes")
    return deny("only practitioner members post notes")


def post_family_voice(viewer: NoteViewer) -> Decision:
    if viewer.kind == "family" and viewer.family_member:
        return allow("family members post their own account")
    return deny("only the network's family members post their own account")


def share_with_family(viewer: NoteViewer) -> Decision:
    if viewer.kind == "practitioner" and viewer.member:
        return allow("practitioner members may share a note with the network's family members")
    return deny("only practitioner members share notes with family members")


def filter_by_organisation(viewer: NoteViewer) -> Decision:
    if viewer.kind == "practitioner":
        return allow("practitioners filter the chronology by the author's organisation")
    return deny("a filter by organisation could tell a family member who wrote a note whose author is hidden")


def see_member_events(viewer: NoteViewer) -> Decision:
    if viewer.kind == "practitioner" and viewer.member:
        return allow("practitioner members see who joins, leaves and leads")
    return deny("only practitioner members see the network's membership change")


def receive_alert_event(viewer: NoteViewer, shown_to: object) -> Decision:
    """An alert's events reach the leads it was shown to when it was raised or changed (`_to`, comma-separated)."""
    if not (viewer.kind == "practitioner" and viewer.member and viewer.is_lead):
        return deny("alert events reach leads only")
    if isinstance(shown_to, str) and viewer.account_id in shown_to.split(","):
        return allow("this lead was shown the alert")
    return deny("this alert was not shown to this lead")


def belongs(viewer: NoteViewer) -> Decision:
    """Whether this viewer still belongs to the network at all: if not, its connections stop following it."""
    if viewer.member or viewer.family_member:
        return allow("a member or family member of the network")
    return deny("no longer in the network")


@dataclass(frozen=True)
class AudienceNames:
    organisations: bool
    people: bool


def audience_names(audience: str) -> AudienceNames:
    """Which members an audience names: an organisations audience its organisations, a people audience its people."""
    return AudienceNames(organisations=audience == "organisations", people=audience == "people")


def audience_words(*, kind: str, audience: str, organisations: Iterable[str], people: Iterable[str]) -> str:
    """Who can see a note, in words: what a practitioner is told on the note (a family member is told less)."""
    if kind == "family_voice":
        return "Every practitioner in the network"
    if audience == "lead":
        return "Lead professionals only"
    if audience == "organisations":
        return "Members from " + ", ".join(sorted(organisations))
    if audience == "people":
        return "Only " + ", ".join(sorted(people))
    return "Everyone in the network"


def earlier_notes_hidden(viewer: NoteViewer, *, history_rule: str) -> bool:
    """Whether a member sees only what was posted after they joined (the network's history rule, not opened to
    them): the same condition see_note applies, for a page to say so."""
    return viewer.member and history_rule != "full" and not viewer.history_opened
