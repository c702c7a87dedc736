"""Sign-in throttling per account and per client address, shared by every worker through the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth.tokens import digest
from patchwork.clock import utcnow
from patchwork.models import SignInFailure


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window: timedelta


def account_key(email: str) -> str:
    return "account:" + digest(email.strip().lower())[:40]


def address_key(address: str) -> str:
    return "address:" + address[:64]


def retry_after(*, session: Session, limits: Limits, keys: dict[str, int]) -> int:
    """Seconds to wait before another attempt is allowed for any of these keys (0 when allowed)."""
    now = utcnow()
    since = now - limits.window
    wait = 0
    for key, limit in keys.items():
        count, oldest = session.exec(
            select(func.count(), func.min(SignInFailure.at)).where(
                SignInFailure.key == key, col(SignInFailure.at) > since
            )
        ).one()
        if count >= limit and oldest is not None:
            wait = max(wait, int((oldest + limits.window - now).total_seconds()) + 1)
    return wait


def record_failure(*, session: Session, keys: list[str]) -> None:
    for key in keys:
        session.add(SignInFailure(key=key))


def clear(*, session: Session, key: str) -> None:
    session.execute(delete(SignInFailure).where(col(SignInFailure.key) == key))


def prune(*, session: Session, limits: Limits) -> None:
    session.execute(delete(SignInFailure).where(col(SignInFailure.at) <= utcnow() - limits.window))
