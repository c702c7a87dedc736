"""Accounts and organisations: who manages whom, who must use a second factor, and what an account's kind lets it do."""

from __future__ import annotations

from dataclasses import dataclass

from patchwork.policy.decision import Decision, allow, deny


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
    if not creatable_role(role):
        return deny(f"accounts of role {role!r} are not created this way")
    return allow(decision.reason)


def second_factor_required(*, kind: str, is_org_admin: bool, is_lead: bool, production: bool) -> Decision:
    if not production:
        return deny("a second factor is optional outside production")
    if kind == "admin" or is_org_admin or is_lead:
        return allow("leads and admins must use a second factor in production")
    return deny("a second factor is optional for this account")


def sees_as_family(actor: Actor) -> Decision:
    """A family member's networks are those they were invited into, seen through the family view of each."""
    if actor.kind == "family":
        return allow("family members see the networks they were invited into, as a family member")
    return deny("practitioners and admins see networks through their involvements")


def practitioner_work(actor: Actor) -> Decision:
    """Pages that only make sense for practitioners (search, start a network, export the chronology)."""
    if actor.kind == "practitioner":
        return allow("practitioners do this work")
    return deny("only practitioners do this")


# The accounts organisation admins manage: practitioners', created with one of these roles. Admin and family accounts
# are made another way (the command line, a family invitation) and are never listed or managed here.
MANAGED_KIND = "practitioner"
CREATABLE_ROLES = ("practitioner", "org_admin")


def creatable_role(role: str) -> Decision:
    if role in CREATABLE_ROLES:
        return allow("organisation admins create practitioners and organisation admins")
    return deny("Role must be practitioner or org_admin")


def manage_account(actor: Actor, account: Actor) -> Decision:
    """Approve, refuse, deactivate or reactivate one account: a practitioner's, by their organisation's admins."""
    if account.kind != MANAGED_KIND:
        return deny("only practitioners' accounts are managed by organisation admins")
    return manage_accounts_of(actor, account.organisation_id)


def account_roles(actor: Actor) -> tuple[str, ...]:
    """The roles an account holds, as the API and the account page name them."""
    if actor.is_system_admin:
        return ("system_admin",)
    if actor.kind == "family":
        return ("family",)
    return ("practitioner", "org_admin") if actor.is_org_admin else ("practitioner",)


def configure_sso(actor: Actor) -> Decision:
    if actor.is_system_admin:
        return allow("system admins connect an organisation's identity provider")
    return deny("only system admins configure single sign-on")


def sso_links(*, kind: str, organisation_id: str | None, provider_organisation_id: str) -> Decision:
    """An existing account signed in by an organisation's provider for the first time (its e-mail verified)."""
    if kind == "practitioner" and organisation_id == provider_organisation_id:
        return allow("a practitioner of the provider's organisation is linked to the provider's identity")
    return deny("only a practitioner account of the provider's own organisation can be signed in by its provider")
