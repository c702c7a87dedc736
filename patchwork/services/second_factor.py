"""Whether an account must set up a second factor before it may do anything else: in production, every lead
professional, organisation admin and system admin (policy.second_factor_required), unless they have TOTP or signed
in through single sign-on that reported one."""

from __future__ import annotations

from sqlmodel import Session, select

from patchwork import policy
from patchwork.models import Account
from patchwork.models.networks import Involvement, InvolvementStatus


def leads_anywhere(session: Session, account_id: str) -> bool:
    return (
        session.exec(
            select(Involvement.id).where(
                Involvement.account_id == account_id,
                Involvement.status == InvolvementStatus.active,
                Involvement.is_lead == True,  # noqa: E712
            )
        ).first()
        is not None
    )


def required(session: Session, account: Account, *, production: bool) -> bool:
    """Whether this account's roles call for a second factor (whether or not it has one); reads the account's
    involvements only when its kind and admin role do not decide already."""
    if not production:
        return False
    if policy.second_factor_required(
        kind=account.kind, is_org_admin=account.is_org_admin, is_lead=False, production=production
    ):
        return True
    return bool(
        policy.second_factor_required(
            kind=account.kind,
            is_org_admin=account.is_org_admin,
            is_lead=leads_anywhere(session, account.id),
            production=production,
        )
    )


def missing(session: Session, account: Account, *, by_provider: bool, production: bool) -> bool:
    """True when this account may reach only the set-up page; reads nothing outside production."""
    if not production or by_provider:
        return False
    fresh = session.get(Account, account.id)  # a held token's account may predate its enrolment
    if fresh is None or fresh.has_second_factor:
        return False
    return required(session, fresh, production=production)
