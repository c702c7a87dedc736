"""The family rules of the pure policy, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patchwork import policy
from patchwork.services import family

LEAD = policy.Actor("lead", "practitioner", "org-1", False)
MEMBER = policy.Actor("member", "practitioner", "org-2", False)
OUTSIDER = policy.Actor("outsider", "practitioner", "org-3", False)
ADMIN = policy.Actor("admin", "admin", None, False)
PARENT = policy.Actor("parent", "family", None, False)
MEMBERS = (policy.Member("lead", "org-1", True), policy.Member("member", "org-2", False))


@pytest.mark.parametrize(
    ("actor", "status", "allowed"),
    [
        (LEAD, "open", True),
        (LEAD, "closed", False),
        (LEAD, "merged", False),
        (MEMBER, "open", False),
        (OUTSIDER, "open", False),
        (ADMIN, "open", False),
        (PARENT, "open", False),
    ],
)
def test_only_a_lead_invites_into_an_open_network(actor: policy.Actor, status: str, allowed: bool) -> None:
    decision = policy.invite_family(actor, policy.NetworkFacts(status=status, members=MEMBERS))
    assert decision.allowed is allowed and decision.reason


@pytest.mark.parametrize(
    ("accepted", "expired", "status", "allowed"),
    [
        (False, False, "open", True),
        (True, False, "open", False),
        (False, True, "open", False),
        (False, False, "closed", False),
        (False, False, "merged", False),
    ],
)
def test_an_invitation_is_accepted_once_in_time_into_an_open_network(
    accepted: bool, expired: bool, status: str, allowed: bool
) -> None:
    assert bool(policy.accept_family_invitation(accepted=accepted, expired=expired, network_status=status)) is allowed


def test_sensitive_involvements_are_hidden_from_families() -> None:
    assert not policy.family_sees_involvement(sensitive=True)
    assert policy.family_sees_involvement(sensitive=False)


def _viewer(kind: str, *, member: bool = False, family_member: bool = False) -> policy.NoteViewer:
    return policy.NoteViewer(
        account_id="v",
        kind=kind,
        member=member,
        organisation_id="org-1" if member else None,
        joined_at=datetime(2026, 1, 1, tzinfo=UTC) if member else None,
        is_lead=False,
        history_opened=False,
        family_member=family_member,
    )


@pytest.mark.parametrize(
    ("viewer", "allowed"),
    [
        (_viewer("family", family_member=True), True),
        (_viewer("family"), False),
        (_viewer("practitioner", member=True), False),
        (_viewer("admin"), False),
    ],
)
def test_the_family_view_is_for_the_networks_family_members(viewer: policy.NoteViewer, allowed: bool) -> None:
    assert bool(policy.view_as_family(viewer)) is allowed


@pytest.mark.parametrize(("actor", "allowed"), [(LEAD, True), (MEMBER, True), (PARENT, False), (ADMIN, False)])
def test_practitioner_work_is_for_practitioners(actor: policy.Actor, allowed: bool) -> None:
    assert bool(policy.practitioner_work(actor)) is allowed


def test_family_voice_is_seen_by_practitioners_and_its_author_only() -> None:
    voice = policy.NoteFacts(
        author_id="parent",
        kind="family_voice",
        audience="network",
        audience_organisations=frozenset(),
        audience_people=frozenset(),
        family_shares=frozenset(),
        created_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    author = policy.NoteViewer("parent", "family", False, None, None, False, False, True)
    sibling = policy.NoteViewer("sibling", "family", False, None, None, False, False, True)
    practitioner = _viewer("practitioner", member=True)
    assert policy.see_note(author, voice, history_rule="from_joining")
    assert not policy.see_note(sibling, voice, history_rule="from_joining")
    assert policy.see_note(practitioner, voice, history_rule="from_joining")
    assert policy.reply_to_note(practitioner, voice) and policy.acknowledge_note(practitioner, voice)
    assert not policy.reply_to_note(author, voice) and not policy.acknowledge_note(sibling, voice)


def test_codes_are_typeable_and_hard_to_guess() -> None:
    codes = {family.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set(code.replace("-", "")) <= set(family.CODE_ALPHABET)
    assert not set("01ILOU") & set(family.CODE_ALPHABET)
    bits = family.CODE_LENGTH * (len(family.CODE_ALPHABET).bit_length() - 1)
    assert bits >= 60
    sample = next(iter(codes))
    assert family.code_digest(sample.lower().replace("-", " ")) == family.code_digest(sample)
