"""The viewer rules the pages and the API ask instead of reading an account's kind themselves."""

from __future__ import annotations

import pytest

from patchwork import policy


def _note_viewer(kind: str, *, member: bool = False, family_member: bool = False) -> policy.NoteViewer:
    return policy.NoteViewer(
        account_id="v",
        kind=kind,
        member=member,
        organisation_id="org-1" if member else None,
        joined_at=None,
        is_lead=False,
        history_opened=False,
        family_member=family_member,
    )


@pytest.mark.parametrize(("kind", "family_voice"), [("family", True), ("practitioner", False), ("admin", False)])
def test_only_family_members_post_family_voice(kind: str, family_voice: bool) -> None:
    decision = policy.posts_family_voice(policy.Actor("a", kind, None, False))
    assert decision.allowed is family_voice and decision.reason


@pytest.mark.parametrize(
    ("viewer", "practitioners_view"),
    [
        (_note_viewer("practitioner", member=True), True),
        (_note_viewer("practitioner"), True),
        (_note_viewer("family", family_member=True), False),
        (_note_viewer("admin"), False),
    ],
)
def test_the_practitioners_view_of_a_networks_notes(viewer: policy.NoteViewer, practitioners_view: bool) -> None:
    decision = policy.practitioner_view(viewer)
    assert decision.allowed is practitioners_view and decision.reason
