"""Which side of the app a viewer is shown: the practitioner's or the family's. Pure, like the rest of the policy:
the pages and the API ask these instead of reading an account's kind themselves."""

from __future__ import annotations

from patchwork.policy.accounts import Actor
from patchwork.policy.decision import Decision, allow, deny
from patchwork.policy.notes import NoteViewer


def posts_family_voice(actor: Actor) -> Decision:
    """What a family member posts is their own account in their own words, with no audience, category or level."""
    if actor.kind == "family":
        return allow("family members post their own account, as family voice")
    return deny("practitioners post notes with an audience, a category and a level")


def practitioner_view(viewer: NoteViewer) -> Decision:
    """A network's notes as practitioners see them: with the people involved and their organisations, the note
    form, and the organisations the notes came from."""
    if viewer.kind == "practitioner":
        return allow("practitioners see a network's notes with the people involved")
    return deny("family members and admins do not see the practitioners' view of a network's notes")


def has_networks(actor: Actor) -> Decision:
    """Practitioners belong to networks through involvements, family members through an invitation; a system admin
    belongs to none (they never read notes by virtue of being admin)."""
    if actor.kind in ("practitioner", "family"):
        return allow("practitioners and family members have networks of their own")
    return deny("system admins belong to no network")
