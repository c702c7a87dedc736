from __future__ import annotations

import pytest

from patchwork import policy

ADMIN = policy.Actor("a", "admin", None, False)
ORG_ADMIN = policy.Actor("o", "practitioner", "org-1", True)
PRACTITIONER = policy.Actor("p", "practitioner", "org-1", False)
FAMILY = policy.Actor("f", "family", None, False)


@pytest.mark.parametrize(
    ("actor", "organisation", "allowed"),
    [
        (ADMIN, "org-1", True),
        (ADMIN, "org-2", True),
        (ORG_ADMIN, "org-1", True),
        (ORG_ADMIN, "org-2", False),
        (ORG_ADMIN, None, False),
        (PRACTITIONER, "org-1", False),
        (FAMILY, "org-1", False),
    ],
)
def test_who_manages_an_organisations_accounts(actor: policy.Actor, organisation: str | None, allowed: bool) -> None:
    decision = policy.manage_accounts_of(actor, organisation)
    assert decision.allowed is allowed
    assert decision.reason


@pytest.mark.parametrize(("actor", "allowed"), [(ADMIN, True), (ORG_ADMIN, False), (PRACTITIONER, False)])
def test_only_system_admins_manage_organisations(actor: policy.Actor, allowed: bool) -> None:
    assert bool(policy.manage_organisations(actor)) is allowed


def test_accounts_of_other_kinds_are_not_created_this_way() -> None:
    assert not policy.create_account(ADMIN, "org-1", "system_admin")
    assert policy.create_account(ORG_ADMIN, "org-1", "org_admin")


@pytest.mark.parametrize(
    ("kind", "org_admin", "lead", "production", "required"),
    [
        ("admin", False, False, True, True),
        ("practitioner", True, False, True, True),
        ("practitioner", False, True, True, True),
        ("practitioner", False, False, True, False),
        ("admin", False, False, False, False),
    ],
)
def test_second_factor_required(kind: str, org_admin: bool, lead: bool, production: bool, required: bool) -> None:
    decision = policy.second_factor_required(kind=kind, is_org_admin=org_admin, is_lead=lead, production=production)
    assert decision.allowed is required


def test_earlier_notes_are_hidden_only_from_a_member_under_the_from_joining_rule() -> None:
    from datetime import UTC, datetime

    def member(*, opened: bool = False, member: bool = True) -> policy.NoteViewer:
        return policy.NoteViewer(
            "a", "practitioner", member, "o", datetime(2026, 1, 1, tzinfo=UTC), False, opened, False
        )

    assert policy.earlier_notes_hidden(member(), history_rule="from_joining")
    assert not policy.earlier_notes_hidden(member(), history_rule="full")
    assert not policy.earlier_notes_hidden(member(opened=True), history_rule="from_joining")
    assert not policy.earlier_notes_hidden(member(member=False), history_rule="from_joining")
