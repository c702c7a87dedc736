"""Accounts: requests and approval, creation by admins, deactivation, password changes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from patchwork import limits, policy
from patchwork.auth.passwords import Passwords, WeakPassword, check_strength
from patchwork.auth.sessions import revoke_everything
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.errors import Forbidden, Invalid, NotFound, TooManyRequests
from patchwork.models import Account, AccountKind, AccountStatus, Organisation
from patchwork.services import audit, reasons, throttle
from patchwork.services.throttle import Limits
from patchwork.services.validation import Fields

log = logging.getLogger("patchwork.accounts")


def actor_of(account: Account) -> policy.Actor:
    return policy.Actor(
        account_id=account.id,
        kind=account.kind,
        organisation_id=account.organisation_id,
        is_org_admin=account.is_org_admin,
    )


def roles_of(account: Account) -> list[str]:
    return list(policy.account_roles(actor_of(account)))


@dataclass(frozen=True)
class AccountDetails:
    name: object
    email: object
    organisation_id: object
    password: object
    job_title: object = ""
    confirm_password: object | None = None
    role: object = "practitioner"


def _clean_details(details: AccountDetails, *, job_title_required: bool) -> tuple[str, str, str, str, str]:
    fields = Fields()
    name = fields.text("name", details.name, label="Full name", max_length=limits.PERSON_NAME)
    email = fields.email("email", details.email, label="Work e-mail address")
    job_title = fields.text(
        "job_title", details.job_title, label="Job title", max_length=limits.JOB_TITLE, required=job_title_required
    )
    organisation_id = fields.raw("organisation_id", details.organisation_id, label="Organisation")
    if not organisation_id:
        fields.errors["organisation_id"] = "Select your organisation"
    password = details.password if isinstance(details.password, str) else ""
    try:
        check_strength(password, email=email, name=name)
    except WeakPassword as problem:
        fields.fail("password", str(problem) if password else "Enter a password")
    if details.confirm_password is not None and details.confirm_password != password:
        fields.fail("confirm_password", "Passwords do not match")
    fields.check()
    return name, email, job_title, organisation_id, password


def _check_unique_and_organisation(session: Session, email: str, organisation_id: str) -> None:
    errors: dict[str, str] = {}
    if _email_taken(session, email):
        errors["email"] = "An account with this e-mail address already exists"
    if not _organisation_open(session, organisation_id):
        errors["organisation_id"] = "Select your organisation"
    if errors:
        raise Invalid(errors)


def _email_taken(session: Session, email: str) -> bool:
    return session.exec(select(Account.id).where(func.lower(Account.email) == email)).first() is not None


def _organisation_open(session: Session, organisation_id: str) -> bool:
    organisation = session.get(Organisation, organisation_id)
    return organisation is not None and organisation.active


def request_keys(*, email: str, address: str, limits: Limits) -> dict[str, int]:
    """Account requests are throttled per client address and per e-mail address, every request counting: they make
    pending accounts, and e-mail the owner of an address that has one already."""
    return {
        "request:" + throttle.address_key(address): limits.per_address,
        "request:" + throttle.account_key(email): limits.per_account,
    }


async def request_account(
    *,
    db: Database,
    passwords: Passwords,
    details: AccountDetails,
    address: str,
    limits: Limits,
    tell_owner: Callable[[str], Awaitable[None]] | None = None,
) -> Account | None:
    """A practitioner asks for an account; it waits for their organisation admin's approval. The answer is the same
    whether or not the address has an account already (`None` then, and nothing is written); its owner is told by
    e-mail when `tell_owner` can send one."""
    name, email, job_title, organisation_id, password = _clean_details(details, job_title_required=True)
    keys = request_keys(email=email, address=address, limits=limits)

    def count(session: Session) -> None:
        wait = throttle.retry_after(session=session, limits=limits, keys=keys)
        if wait:
            raise TooManyRequests(
                f"Too many account requests. Wait {max(1, round(wait / 60))} minutes and try again", retry_after=wait
            )
        if not _organisation_open(session, organisation_id):
            raise Invalid({"organisation_id": "Select your organisation"})
        throttle.record_failure(session=session, keys=list(keys))

    await db.run(count)
    password_hash = await passwords.hash(password)  # whether or not it is kept: both answers take as long

    def write(session: Session) -> Account | None:
        if _email_taken(session, email):
            return None
        account = Account(
            email=email,
            name=name,
            job_title=job_title,
            kind=AccountKind.practitioner,
            organisation_id=organisation_id,
            status=AccountStatus.pending,
            password_hash=password_hash,
        )
        session.add(account)
        session.flush()
        return account

    try:
        account = await db.run(write)
    except IntegrityError:  # the same address asked for twice at once: the other request made it
        account = None
    if account is None:
        log.info("account.request_for_existing_address")
        if tell_owner is not None:
            await tell_owner(email)
    return account


async def create_account(
    *, db: Database, passwords: Passwords, actor: policy.Actor, details: AccountDetails
) -> Account:
    """An admin creates an approved practitioner or organisation admin account."""
    role = details.role if isinstance(details.role, str) else ""
    organisation_id = details.organisation_id if isinstance(details.organisation_id, str) else None
    role_allowed = policy.creatable_role(role)
    if not role_allowed:
        raise Invalid({"role": role_allowed.reason})
    if not policy.create_account(actor, organisation_id, role):
        raise Forbidden("You cannot create accounts for this organisation")
    name, email, job_title, organisation_id, password = _clean_details(details, job_title_required=False)
    await db.run(lambda session: _check_unique_and_organisation(session, email, organisation_id))
    password_hash = await passwords.hash(password)

    def write(session: Session) -> Account:
        _check_unique_and_organisation(session, email, organisation_id)
        account = Account(
            email=email,
            name=name,
            job_title=job_title,
            kind=AccountKind.practitioner,
            organisation_id=organisation_id,
            is_org_admin=role == "org_admin",
            status=AccountStatus.active,
            status_changed_by_id=actor.account_id,
            password_hash=password_hash,
        )
        session.add(account)
        session.flush()
        return account

    return await db.run(write)


def get_account(*, session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account")
    return account


def _managed_account(session: Session, actor: policy.Actor, account_id: str) -> Account:
    account = session.get(Account, account_id)
    # Refused as missing either way: an account someone may not manage is not shown to exist.
    if account is None or not policy.manage_account(actor, actor_of(account)):
        raise NotFound("No such account")
    return account


def accounts_of_organisation(*, session: Session, actor: policy.Actor, organisation_id: str) -> list[Account]:
    if not policy.manage_accounts_of(actor, organisation_id):
        raise Forbidden("You cannot see this organisation's accounts")
    query = (
        select(Account)
        .where(Account.organisation_id == organisation_id, Account.kind == policy.MANAGED_KIND)
        .order_by(func.lower(Account.name))
    )
    return list(session.exec(query).all())


def decide_request(*, session: Session, actor: policy.Actor, account_id: str, approve: bool) -> Account:
    account = _managed_account(session, actor, account_id)
    if account.status != AccountStatus.pending:
        raise Invalid({"account": "This request has already been decided"}, "This request has already been decided")
    account.status = AccountStatus.active if approve else AccountStatus.refused
    account.status_changed_at = utcnow()
    account.status_changed_by_id = actor.account_id
    session.add(account)
    session.flush()
    return account


def deactivatable(*, session: Session, actor: policy.Actor, account_id: str) -> Account:
    """The account the actor is about to deactivate, or why they cannot."""
    account = _managed_account(session, actor, account_id)
    if account.id == actor.account_id:
        raise Invalid({"account": "You cannot deactivate your own account"}, "You cannot deactivate your own account")
    if account.status != AccountStatus.active:
        raise Invalid({"account": "Only active accounts can be deactivated"}, "Only active accounts can be deactivated")
    return account


def deactivate(*, session: Session, keys: Keyring, actor: policy.Actor, account_id: str, reason: object) -> Account:
    """Deactivation ends the account's sessions and tokens at once. Its reason is kept in the audit event."""
    account = deactivatable(session=session, actor=actor, account_id=account_id)
    why = reasons.clean(reason, required=True, asking="deactivating this account")
    recorded = audit.record(
        session=session,
        key=keys.audit,
        action="account.deactivated",
        actor_id=actor.account_id,
        target_type="account",
        target_id=account.id,
        details=reasons.details(why),
    )
    account.status = AccountStatus.deactivated
    account.status_changed_at = utcnow()
    account.status_changed_by_id = actor.account_id
    account.status_event_id = recorded.id
    session.add(account)
    revoke_everything(session=session, account_id=account.id)
    session.flush()
    return account


def deactivations(*, session: Session, accounts: list[Account]) -> dict[str, reasons.Done]:
    """Who deactivated each deactivated account, when and why, by account id."""
    done = reasons.recorded(session, [a.status_event_id for a in accounts if a.status == AccountStatus.deactivated])
    return {a.id: done[a.status_event_id] for a in accounts if a.status_event_id in done}


def reactivate(*, session: Session, actor: policy.Actor, account_id: str) -> Account:
    account = _managed_account(session, actor, account_id)
    if account.status != AccountStatus.deactivated:
        raise Invalid(
            {"account": "Only deactivated accounts can be reactivated"}, "Only deactivated accounts can be reactivated"
        )
    account.status = AccountStatus.active
    account.status_changed_at = utcnow()
    account.status_changed_by_id = actor.account_id
    account.status_event_id = None
    session.add(account)
    session.flush()
    return account


async def change_password(
    *,
    db: Database,
    passwords: Passwords,
    account_id: str,
    keep_session_id: str | None,
    current: object,
    new: object,
    confirm: object,
) -> None:
    """Checks the current password, sets the new one and signs out every other session."""
    account = await db.run(lambda session: get_account(session=session, account_id=account_id))
    fields = Fields()
    current_text = current if isinstance(current, str) else ""
    new_text = new if isinstance(new, str) else ""
    if not current_text:
        fields.fail("current_password", "Enter your current password")
    elif not await passwords.verify(account.password_hash, current_text):
        fields.fail("current_password", "Your current password is not correct")
    try:
        check_strength(new_text, email=account.email, name=account.name)
    except WeakPassword as problem:
        fields.fail("new_password", str(problem) if new_text else "Enter a new password")
    if new_text and confirm != new_text:
        fields.fail("confirm_password", "Passwords do not match")
    if new_text and new_text == current_text:
        fields.fail("new_password", "Your new password must be different from your current one")
    fields.check()
    new_hash = await passwords.hash(new_text)

    def write(session: Session) -> None:
        stored = get_account(session=session, account_id=account_id)
        stored.password_hash = new_hash
        stored.password_changed_at = utcnow()
        session.add(stored)
        revoke_everything(session=session, account_id=account_id, except_session_id=keep_session_id)

    await db.run(write)
