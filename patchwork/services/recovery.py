"""A way back in for someone who forgot their password: an e-mailed link, or (without e-mail) a one-time code
their organisation admin issues. Either works once, within 30 minutes; using it sets a new password and ends every
session and API token of the account. Asking says nothing about whether an address has an account."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.auth.passwords import Passwords, WeakPassword, check_strength
from patchwork.auth.sessions import revoke_everything
from patchwork.auth.tokens import digest, new_secret
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.errors import Forbidden, Invalid, NotFound, TooManyRequests
from patchwork.models import Account, AccountStatus, PasswordReset, ResetVia
from patchwork.services import audit, throttle

log = logging.getLogger("patchwork.recovery")

LIFETIME = timedelta(minutes=30)
SPENT = "This link or code has expired or has been used already. Ask for a new one."
MIN_PASSWORD = "Enter a new password"

Send = Callable[[str, str], Awaitable[None]]  # (to, the secret to put in the link)


def request_keys(*, email: str, address: str, limits: throttle.Limits) -> dict[str, int]:
    """Reset requests are throttled like sign-in, per address and per client address, every request counting."""
    return {
        "reset:" + throttle.address_key(address): limits.per_address,
        "reset:" + throttle.account_key(email): limits.per_account,
    }


def _can_reset(account: Account | None) -> bool:
    return account is not None and account.status in (AccountStatus.active, AccountStatus.pending)


def _new_reset(session: Session, account: Account, via: ResetVia, issued_by: str | None) -> str:
    """Writes a reset for the account (ending any earlier one not yet used) and returns its secret, shown once."""
    now = utcnow()
    session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.account_id) == account.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    secret = new_secret()
    session.add(
        PasswordReset(
            token_hash=digest(secret),
            account_id=account.id,
            via=via,
            issued_by_id=issued_by,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return secret


async def ask_by_email(
    *, db: Database, keys: Keyring, email: object, address: str, limits: throttle.Limits, send: Send | None
) -> None:
    """ "Forgot your password?": the answer is the same for every address; a link is e-mailed only to an account
    that may use one, and only when e-mail is configured (`send`)."""
    text = email.strip().lower() if isinstance(email, str) else ""
    if not text or "@" not in text:
        raise Invalid({"email": "Enter your e-mail address, like name@example.org"})
    limited = request_keys(email=text, address=address, limits=limits)

    def write(session: Session) -> str | None:
        wait = throttle.retry_after(session=session, limits=limits, keys=limited)
        if wait:
            raise TooManyRequests(
                f"Too many requests. Wait {max(1, round(wait / 60))} minutes and try again", retry_after=wait
            )
        throttle.record_failure(session=session, keys=list(limited))
        account = session.exec(select(Account).where(func.lower(Account.email) == text)).first()
        if send is None or account is None or not _can_reset(account):
            return None
        secret = _new_reset(session, account, ResetVia.email, None)
        audit.record(session=session, key=keys.audit, action="password.reset_requested", actor_id=account.id)
        return secret

    secret = await db.run(write)
    if secret is not None and send is not None:
        await send(text, secret)


def issue_code(*, session: Session, keys: Keyring, actor: policy.Actor, account_id: str) -> str:
    """An organisation admin's one-time reset code for one of their accounts, shown to them once."""
    account = session.get(Account, account_id) if isinstance(account_id, str) else None
    if account is None:
        raise NotFound("No such account")
    decision = policy.manage_accounts_of(actor, account.organisation_id)
    if not decision:
        raise NotFound("No such account")
    if not _can_reset(account):
        raise Forbidden("Only an active or waiting account can be given a reset code", code="not_permitted")
    secret = _new_reset(session, account, ResetVia.admin, actor.account_id)
    audit.record(
        session=session,
        key=keys.audit,
        action="password.reset_code_issued",
        actor_id=actor.account_id,
        target_type="account",
        target_id=account.id,
    )
    return secret


async def reset(*, db: Database, passwords: Passwords, keys: Keyring, secret: object, password: object) -> Account:
    """Sets a new password with a link's or code's secret, once; ends every session and token of the account."""
    token = secret.strip() if isinstance(secret, str) else ""
    new_password = password if isinstance(password, str) else ""

    def find(session: Session) -> Account:
        found = _usable(session, token)
        account = session.get(Account, found.account_id)
        if account is None:
            raise Invalid({"secret": SPENT})
        return account

    account = await db.run(find)
    if not new_password:
        raise Invalid({"password": MIN_PASSWORD})
    try:
        check_strength(new_password, email=account.email, name=account.name)
    except WeakPassword as weak:
        raise Invalid({"password": str(weak)}) from weak
    password_hash = await passwords.hash(new_password)

    def write(session: Session) -> Account:
        now = utcnow()
        claimed = session.execute(  # claimed in one statement: of two uses at once, one wins and one is told
            update(PasswordReset)
            .where(
                col(PasswordReset.token_hash) == digest(token),
                col(PasswordReset.used_at).is_(None),
                col(PasswordReset.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(PasswordReset.account_id), col(PasswordReset.via))
        ).first()
        if claimed is None:
            raise Invalid({"secret": SPENT})
        changed = session.get(Account, claimed.account_id)
        assert changed is not None
        changed.password_hash = password_hash
        changed.password_changed_at = now
        session.add(changed)
        revoke_everything(session=session, account_id=changed.id)
        audit.record(
            session=session,
            key=keys.audit,
            action="password.reset",
            actor_id=changed.id,
            target_type="account",
            target_id=changed.id,
            details={"via": claimed.via},
        )
        return changed

    changed = await db.run(write)
    log.info("password.reset", extra={"account_id": changed.id})
    return changed


def _usable(session: Session, token: str) -> PasswordReset:
    found = (
        session.exec(select(PasswordReset).where(PasswordReset.token_hash == digest(token))).first() if token else None
    )
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        raise Invalid({"secret": SPENT})
    return found
