"""The rules that left the account and family services for the policy: which accounts organisation admins manage
and create, the roles an account holds, who sees a network's family and which account may join as family."""

from __future__ import annotations

import pytest

from patchwork import policy

ADMIN = policy.Actor("a", "admin", None, False)
ORG_ADMIN = policy.Actor("o", "practitioner", "org-1", True)
PRACTITIONER = policy.Actor("p", "practitioner", "org-1", False)
OTHER_ORGANISATION = policy.Actor("q", "practitioner", "org-2", False)
FAMILY = policy.Actor("f", "family", None, False)


@pytest.mark.parametrize(
    ("actor", "account", "allowed"),
    [
        (ORG_ADMIN, PRACTITIONER, True),
        (ORG_ADMIN, OTHER_ORGANISATION, False),
        (ADMIN, OTHER_ORGANISATION, True),
        (ADMIN, FAMILY, False),
        (ADMIN, ADMIN, False),
        (PRACTITIONER, PRACTITIONER, False),
    ],
)
def test_organisation_admins_manage_their_practitioners_accounts_only(
    actor: policy.Actor, account: policy.Actor, allowed: bool
) -> None:
    decision = policy.manage_account(actor, account)
    assert decision.allowed is allowed
    assert decision.reason


def test_the_managed_kind_is_the_practitioners() -> None:
    assert PRACTITIONER.kind == policy.MANAGED_KIND
    assert not policy.manage_account(ADMIN, policy.Actor("x", "family", "org-1", False))


@pytest.mark.parametrize(("role", "allowed"), [("practitioner", True), ("org_admin", True), ("system_admin", False)])
def test_the_roles_accounts_are_created_with(role: str, allowed: bool) -> None:
    decision = policy.creatable_role(role)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == "Role must be practitioner or org_admin"


@pytest.mark.parametrize(
    ("actor", "roles"),
    [
        (ADMIN, ("system_admin",)),
        (FAMILY, ("family",)),
        (ORG_ADMIN, ("practitioner", "org_admin")),
        (PRACTITIONER, ("practitioner",)),
    ],
)
def test_an_accounts_roles(actor: policy.Actor, roles: tuple[str, ...]) -> None:
    assert policy.account_roles(actor) == roles


@pytest.mark.parametrize(("actor", "allowed"), [(PRACTITIONER, True), (FAMILY, False), (ADMIN, False)])
def test_only_practitioners_see_a_networks_family(actor: policy.Actor, allowed: bool) -> None:
    assert bool(policy.see_network_family(actor)) is allowed


@pytest.mark.parametrize(
    ("account", "active", "allowed"),
    [(FAMILY, True, True), (FAMILY, False, False), (PRACTITIONER, True, False), (ADMIN, True, False)],
)
def test_only_an_active_family_account_takes_in_another_network(
    account: policy.Actor, active: bool, allowed: bool
) -> None:
    decision = policy.family_account_joins(account, active=active)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == policy.NOT_FOR_FAMILY
