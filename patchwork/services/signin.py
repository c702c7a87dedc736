"""Signing in: password check with throttling, the second factor, and enrolling one."""

from __future__ import annotations

import logging

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth import totp
from patchwork.auth.passwords import Passwords
from patchwork.auth.tokens import digest
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher
from patchwork.db import Database
from patchwork.errors import Forbidden, Invalid, TooManyRequests, Unauthenticated
from patchwork.models import Account, AccountStatus, RecoveryCode
from patchwork.services import throttle

log = logging.getLogger("patchwork.signin")

GENERIC_FAILURE = "Enter a correct e-mail address and password"
STATUS_MESSAGES = {
    AccountStatus.pending: "Your account is waiting for approval by your organisation's admin",
    AccountStatus.refused: "Your account request was not approved. Contact your organisation's admin",
    AccountStatus.deactivated: "Your account has been deactivated. Contact your organisation's admin",
}


def _totp_context(account_id: str) -> str:
    return f"totp:{account_id}"


async def authenticate(
    *, db: Database, passwords: Passwords, limits: throttle.Limits, email: object, password: object, address: str
) -> Account:
    """The account for these credentials, or an error that says the same for unknown e-mail and wrong password."""
    email_text = email.strip().lower() if isinstance(email, str) else ""
    password_text = password if isinstance(password, str) else ""
    if not email_text or not password_text:
        errors = {}
        if not email_text:
            errors["email"] = "Enter your e-mail address"
        if not password_text:
            errors["password"] = "Enter your password"
        raise Invalid(errors)
    keys = {
        throttle.account_key(email_text): limits.per_account,
        throttle.address_key(address): limits.per_address,
    }

    def load(session: Session) -> tuple[int, Account | None]:
        wait = throttle.retry_after(session=session, limits=limits, keys=keys)
        found = session.exec(select(Account).where(func.lower(Account.email) == email_text)).first()
        return wait, found

    wait, account = await db.run(load)
    if wait:
        log.warning("sign_in.throttled", extra={"account_id": account.id if account else None, "address": address})
        raise TooManyRequests(
            f"Too many attempts to sign in. Wait {max(1, round(wait / 60))} minutes and try again",
            retry_after=wait,
        )
    valid = await passwords.verify(account.password_hash if account else passwords.dummy_hash, password_text)
    if account is None or not valid:
        await db.run(lambda session: throttle.record_failure(session=session, keys=list(keys)))
        log.info(
            "sign_in.failed",
            extra={"account_id": account.id if account else None, "reason": "password", "address": address},
        )
        raise Unauthenticated(GENERIC_FAILURE, code="invalid_credentials")
    if account.status != AccountStatus.active:
        log.info("sign_in.failed", extra={"account_id": account.id, "reason": account.status, "address": address})
        raise Unauthenticated(STATUS_MESSAGES[AccountStatus(account.status)], code=f"account_{account.status}")
    new_hash = await passwords.hash(password_text) if passwords.needs_rehash(account.password_hash) else None

    def succeed(session: Session) -> None:
        throttle.clear(session=session, key=throttle.account_key(email_text))
        if new_hash is not None:
            stored = session.get(Account, account.id)
            if stored is not None:
                stored.password_hash = new_hash
                session.add(stored)

    await db.run(succeed)
    log.info("sign_in.password_ok", extra={"account_id": account.id, "address": address, "rehashed": bool(new_hash)})
    return account


async def second_factor(
    *, db: Database, cipher: DataCipher, limits: throttle.Limits, account_id: str, code: object, address: str
) -> None:
    """Accepts a fresh TOTP code or an unused recovery code; refuses replays and throttles guesses."""
    accepted = await db.run(
        lambda session: _check_second_factor(
            session=session, cipher=cipher, limits=limits, account_id=account_id, code=code, address=address
        )
    )
    if not accepted:
        raise Invalid({"code": "The code is not correct, or has been used already. Enter a new code"})


def _check_second_factor(
    *, session: Session, cipher: DataCipher, limits: throttle.Limits, account_id: str, code: object, address: str
) -> bool:
    code_text = code.strip() if isinstance(code, str) else ""
    keys = {
        throttle.account_key("2fa:" + account_id): limits.per_account,
        throttle.address_key(address): limits.per_address,
    }
    wait = throttle.retry_after(session=session, limits=limits, keys=keys)
    if wait:
        raise TooManyRequests("Too many codes tried. Wait a few minutes and try again", retry_after=wait)
    if not code_text:
        raise Invalid({"code": "Enter the code from your authenticator app"})
    account = session.get(Account, account_id)
    if account is None or account.totp_secret is None:
        raise Unauthenticated("Sign in again", code="invalid_credentials")
    secret = cipher.decrypt(account.totp_secret, context=_totp_context(account.id))
    step = totp.matching_step(secret, code_text, last_used_step=account.totp_last_step)
    if step is not None:
        account.totp_last_step = step
        session.add(account)
        log.info("sign_in.second_factor_ok", extra={"account_id": account.id, "method": "totp"})
        return True
    recovery = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_hash == digest(totp.normalise_recovery_code(code_text)),
            col(RecoveryCode.used_at).is_(None),
        )
    ).first()
    if recovery is not None:
        recovery.used_at = utcnow()
        session.add(recovery)
        log.info("sign_in.second_factor_ok", extra={"account_id": account.id, "method": "recovery_code"})
        return True
    throttle.record_failure(session=session, keys=list(keys))
    log.info("sign_in.failed", extra={"account_id": account.id, "reason": "second_factor", "address": address})
    return False


def seal_enrolment(*, cipher: DataCipher, account_id: str, secret: str) -> str:
    """The pending secret travels in the set-up form, sealed so it cannot be read or swapped."""
    return cipher.encrypt(secret, context=f"totp-enrolment:{account_id}")


def confirm_enrolment(
    *, session: Session, cipher: DataCipher, account_id: str, sealed_secret: object, code: object
) -> list[str]:
    """Stores the second factor once the person proves their app works; returns one-time recovery codes."""
    try:
        secret = cipher.decrypt(str(sealed_secret), context=f"totp-enrolment:{account_id}")
    except ValueError as error:
        raise Invalid({"code": "The set-up has expired. Start again"}) from error
    step = totp.matching_step(secret, code if isinstance(code, str) else "", last_used_step=None)
    if step is None:
        raise Invalid({"code": "The code is not correct. Enter the 6-digit code shown in your app"})
    account = session.get(Account, account_id)
    if account is None:
        raise Unauthenticated("Sign in again")
    account.totp_secret = cipher.encrypt(secret, context=_totp_context(account_id))
    account.totp_last_step = step
    session.add(account)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account_id))
    codes = totp.new_recovery_codes()
    for plain in codes:
        session.add(RecoveryCode(account_id=account_id, code_hash=digest(plain)))
    log.info("second_factor.enrolled", extra={"account_id": account_id})
    return codes


def remove_second_factor(*, session: Session, account_id: str) -> None:
    account = session.get(Account, account_id)
    if account is None:
        return
    account.totp_secret = None
    account.totp_last_step = None
    session.add(account)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account_id))
    log.info("second_factor.removed", extra={"account_id": account_id})


def unused_recovery_codes(*, session: Session, account_id: str) -> int:
    return session.exec(
        select(func.count()).where(RecoveryCode.account_id == account_id, col(RecoveryCode.used_at).is_(None))
    ).one()


async def turn_off_second_factor(
    *, db: Database, passwords: Passwords, account: Account, password: object, required: bool
) -> None:
    """Removes the second factor after the person confirms their password, unless their role needs one."""
    if required:
        raise Forbidden("Your role must use two-step verification")
    password_text = password if isinstance(password, str) else ""
    if not password_text or not await passwords.verify(account.password_hash, password_text):
        raise Invalid({"password": "Enter your current password to turn off two-step verification"})
    await db.run(lambda session: remove_second_factor(session=session, account_id=account.id))
