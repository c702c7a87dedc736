"""Server-side browser sessions and API tokens: hashed, expiring, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from patchwork.auth.tokens import digest, new_secret
from patchwork.clock import utcnow
from patchwork.models import Account, AccountStatus, ApiToken, WebSession
from patchwork.outbox import ring_account

TOUCH_EVERY = timedelta(seconds=30)
# A token's "last used" is shown to its holder: an hour's precision is enough, and spares a write on most calls.
TOKEN_TOUCH_EVERY = timedelta(hours=1)
SECOND_FACTOR_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Resolved:
    account: Account
    session_id: str
    second_factor_pending: bool
    second_factor_by_provider: bool = False


def start_web_session(
    *,
    session: Session,
    account_id: str,
    timeouts: Timeouts,
    second_factor_pending: bool = False,
    second_factor_by_provider: bool = False,
) -> str:
    token = new_secret()
    now = utcnow()
    lifetime = SECOND_FACTOR_WINDOW if second_factor_pending else timeouts.absolute
    session.add(
        WebSession(
            token_hash=digest(token),
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            second_factor_pending=second_factor_pending,
            second_factor_by_provider=second_factor_by_provider,
        )
    )
    session.flush()
    return token


def resolve_web_session(*, session: Session, token: str, timeouts: Timeouts) -> Resolved | None:
    """The live session for a cookie, or None when it is unknown, revoked, idle too long or too old."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now >= row.expires_at or now - row.last_seen_at >= timeouts.idle:
        row.revoked_at = now
        session.add(row)
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.status != AccountStatus.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return Resolved(
        account=account,
        session_id=row.id,
        second_factor_pending=row.second_factor_pending,
        second_factor_by_provider=row.second_factor_by_provider,
    )


def end_web_session(*, session: Session, session_id: str) -> None:
    ended = session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .returning(col(WebSession.account_id))
    ).scalar_one_or_none()
    if ended is not None:
        ring_account(session, ended)


def revoke_everything(*, session: Session, account_id: str, except_session_id: str | None = None) -> None:
    """Sign out everywhere: every browser session (but one, if asked) and every API token."""
    now = utcnow()
    sessions = update(WebSession).where(col(WebSession.account_id) == account_id, col(WebSession.revoked_at).is_(None))
    if except_session_id is not None:
        sessions = sessions.where(col(WebSession.id) != except_session_id)
    session.execute(sessions.values(revoked_at=now))
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.account_id) == account_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    ring_account(session, account_id)


def issue_api_token(*, session: Session, account_id: str, lifetime: timedelta, name: str = "") -> tuple[str, ApiToken]:
    token = "pw_" + new_secret()
    now = utcnow()
    row = ApiToken(
        token_hash=digest(token), account_id=account_id, name=name, created_at=now, expires_at=now + lifetime
    )
    session.add(row)
    session.flush()
    return token, row


_TOKEN_AND_ACCOUNT = (  # built once: every API request asks it
    select(ApiToken, Account)
    .join(Account, col(Account.id) == ApiToken.account_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def resolve_api_token(*, session: Session, token: str) -> tuple[ApiToken, Account] | None:
    found = session.exec(_TOKEN_AND_ACCOUNT, params={"token_hash": digest(token)}).first()
    if found is None:
        return None
    row, account = found
    now = utcnow()
    if row.revoked_at is not None or now >= row.expires_at or account.status != AccountStatus.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
    return row, account


def revoke_api_token(*, session: Session, token_id: str) -> None:
    ended = session.execute(
        update(ApiToken)
        .where(col(ApiToken.id) == token_id)
        .values(revoked_at=utcnow())
        .returning(col(ApiToken.account_id))
    ).scalar_one_or_none()
    if ended is not None:
        ring_account(session, ended)


def revoke_exposed_api_token(*, session: Session, token: str) -> bool:
    """A token seen in a web address has been exposed (logs, history, proxies): it stops working now."""
    ended = session.execute(
        update(ApiToken)
        .where(col(ApiToken.token_hash) == digest(token), col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .returning(col(ApiToken.account_id))
    ).scalar_one_or_none()
    if ended is not None:
        ring_account(session, ended)
    return ended is not None


def still_signed_in(*, session: Session, account_id: str, session_id: str | None, token_id: str | None) -> bool:
    """Whether a live connection's credentials still hold: the account active and its session or token alive."""
    account = session.get(Account, account_id)
    if account is None or account.status != AccountStatus.active:
        return False
    now = utcnow()
    if token_id is not None:
        token = session.get(ApiToken, token_id)
        return token is not None and token.revoked_at is None and now < token.expires_at
    if session_id is not None:
        web = session.get(WebSession, session_id)
        return web is not None and web.revoked_at is None and now < web.expires_at
    return False
