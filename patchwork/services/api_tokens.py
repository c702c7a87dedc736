"""A person's own API tokens: the ones still working, a new one made with a name (after their password, as the
API's own token exchange asks), and revoking one."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from patchwork import limits
from patchwork.auth.passwords import Passwords
from patchwork.auth.sessions import issue_api_token, revoke_api_token
from patchwork.clock import utcnow
from patchwork.db import Database
from patchwork.errors import Invalid, NotFound, TooManyRequests
from patchwork.models import Account, ApiToken
from patchwork.services import throttle
from patchwork.services.sso import NO_PASSWORD
from patchwork.services.validation import Fields


def clean_name(value: object, *, required: bool) -> str:
    fields = Fields()
    name = fields.text("name", value, label="A name for the token", max_length=limits.API_TOKEN_NAME, required=False)
    if required and not name and "name" not in fields.errors:
        fields.fail("name", "Enter a name for the token, such as the program that will use it")
    fields.check()
    return name


def has_password(account: Account) -> bool:
    """An account made by single sign-on has no password, so it cannot exchange one for a token."""
    return account.password_hash != NO_PASSWORD


def own_tokens(*, session: Session, account_id: str) -> list[ApiToken]:
    """The account's tokens that still work, newest first."""
    return list(
        session.exec(
            select(ApiToken)
            .where(
                ApiToken.account_id == account_id,
                col(ApiToken.revoked_at).is_(None),
                col(ApiToken.expires_at) > utcnow(),
            )
            .order_by(col(ApiToken.created_at).desc())
        ).all()
    )


def own_token(*, session: Session, account_id: str, token_id: str) -> ApiToken:
    """One of the account's working tokens; another's, or one that no longer works, is not found."""
    token = session.get(ApiToken, token_id) if len(token_id) == 36 else None
    if token is None or token.account_id != account_id or token.revoked_at is not None or token.expires_at <= utcnow():
        raise NotFound("No such token")
    return token


async def create(
    *,
    db: Database,
    passwords: Passwords,
    sign_in_limits: throttle.Limits,
    account: Account,
    name: object,
    password: object,
    lifetime: timedelta,
) -> tuple[str, ApiToken]:
    """A new token and its secret, shown once. A wrong password counts as a failed sign-in to the account."""
    fields = Fields()
    try:
        cleaned = clean_name(name, required=True)
    except Invalid as problem:
        fields.errors.update(problem.fields)
        cleaned = ""
    password_text = password if isinstance(password, str) else ""
    if not has_password(account):
        fields.fail("password", "Your account signs in through your organisation, so it cannot have API tokens")
    elif not password_text:
        fields.fail("password", "Enter your password")
    fields.check()
    key = throttle.account_key(account.email)
    wait = await db.run(
        lambda session: throttle.retry_after(
            session=session, limits=sign_in_limits, keys={key: sign_in_limits.per_account}
        )
    )
    if wait:
        raise TooManyRequests(
            f"Too many wrong passwords. Wait {max(1, round(wait / 60))} minutes and try again", retry_after=wait
        )
    if not await passwords.verify(account.password_hash, password_text):
        await db.run(lambda session: throttle.record_failure(session=session, keys=[key]))
        raise Invalid({"password": "Your password is not correct"})

    def issue(session: Session) -> tuple[str, ApiToken]:
        throttle.clear(session=session, key=key)
        return issue_api_token(session=session, account_id=account.id, lifetime=lifetime, name=cleaned)

    return await db.run(issue)


def revoke(*, session: Session, account_id: str, token_id: str) -> ApiToken:
    token = own_token(session=session, account_id=account_id, token_id=token_id)
    revoke_api_token(session=session, token_id=token.id)
    return token
