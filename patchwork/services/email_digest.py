"""E-mail digests: at most one e-mail per person per interval, saying only that something is new, with a link to
sign in. Never a child's name, a note's content, an organisation, or even how many things are new.

Any number of processes may run the digest: each person's digest is claimed with one compare-and-set UPDATE on their
last e-mailed time, so two processes never both send it. What a person has been e-mailed about is marked per network,
so the next digest waits for something newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

import aiosmtplib
from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.models import Account, AccountStatus
from patchwork.models.events import EventCounter
from patchwork.models.networks import Involvement, InvolvementStatus
from patchwork.models.notes import FamilyMembership
from patchwork.models.notifications import NotificationMark, NotificationPreference
from patchwork.services import notifications
from patchwork.settings import Settings

log = logging.getLogger("patchwork.email")
SUBJECT = "Something new in Patchwork"
RESTART_SECONDS = 5.0

Sender = Callable[[EmailMessage], Awaitable[object]]


def body(base_url: str) -> str:
    return f"There is something new for you in Patchwork. Sign in to see it:\n\n{base_url}/sign-in\n"


def message(settings: Settings, to: str) -> EmailMessage:
    """The whole e-mail: fixed words and the sign-in link, nothing about any child, note or organisation."""
    email = EmailMessage()
    email["From"] = settings.email_from
    email["To"] = to
    email["Subject"] = SUBJECT
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body(settings.base_url))
    return email


def account_exists_message(settings: Settings, to: str) -> EmailMessage:
    """To the owner of an address someone asked a new account for: the sign-in page says nothing of it."""
    email = EmailMessage()
    email["From"] = settings.email_from
    email["To"] = to
    email["Subject"] = "Your Patchwork account"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(
        "Someone asked for a new Patchwork account with this e-mail address, which already has one. "
        f"Sign in here:\n\n{settings.base_url}/sign-in\n\n"
        "If you cannot sign in, ask your organisation's Patchwork admin. If you did not ask, you can ignore this "
        "e-mail: nothing has changed.\n"
    )
    return email


def reset_message(settings: Settings, to: str, secret: str) -> EmailMessage:
    """The way back in: a link that works once, within 30 minutes; the secret rides in the query string, which
    never reaches the logs."""
    email = EmailMessage()
    email["From"] = settings.email_from
    email["To"] = to
    email["Subject"] = "Reset your Patchwork password"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(
        "Someone asked to reset the password of the Patchwork account with this e-mail address. To choose a new "
        f"password, open this link within 30 minutes. It works once.\n\n{settings.base_url}/reset-password?"
        f"token={secret}\n\nResetting signs you out everywhere. If you did not ask, you can ignore this e-mail: "
        "your password has not changed.\n"
    )
    return email


@dataclass(frozen=True)
class Digest:
    account_id: str
    email: str
    heads: dict[str, int]


def candidates(*, session: Session, now: datetime, interval: timedelta) -> list[str]:
    """Active accounts with e-mail on, not e-mailed within the interval, and a network with events beyond what they
    have read and been e-mailed about. One cheap query per kind of membership; the policy comes later."""
    cutoff = now - interval
    practitioners = _due(
        session,
        col(Involvement.account_id),
        col(Involvement.network_id),
        col(Involvement.status) == InvolvementStatus.active,
        cutoff,
    )
    family = _due(
        session,
        col(FamilyMembership.account_id),
        col(FamilyMembership.network_id),
        col(FamilyMembership.active) == True,  # noqa: E712
        cutoff,
    )
    return sorted(practitioners | family)


def _due(
    session: Session,
    member_account: Mapped[str],
    member_network: Mapped[str],
    active: ColumnElement[bool],
    cutoff: datetime,
) -> set[str]:
    query = (
        select(member_account)
        .join(Account, col(Account.id) == member_account)
        .join(EventCounter, col(EventCounter.network_id) == member_network)
        .outerjoin(
            NotificationMark,
            and_(
                col(NotificationMark.account_id) == member_account, col(NotificationMark.network_id) == member_network
            ),
        )
        .outerjoin(NotificationPreference, col(NotificationPreference.account_id) == member_account)
        .where(
            active,
            col(Account.status) == AccountStatus.active,
            or_(col(NotificationPreference.email).is_(None), col(NotificationPreference.email) == True),  # noqa: E712
            or_(
                col(NotificationPreference.last_emailed_at).is_(None),
                col(NotificationPreference.last_emailed_at) <= cutoff,
            ),
            col(EventCounter.seq) > func.coalesce(col(NotificationMark.seen_seq), 0),
            col(EventCounter.seq) > func.coalesce(col(NotificationMark.mailed_seq), 0),
        )
        .distinct()
    )
    return set(session.exec(query).all())


def prepare(*, session: Session, keys: Keyring, account_id: str, now: datetime, interval: timedelta) -> Digest | None:
    """A digest this process has claimed for one person, or None: nothing new (marked so, to look no further next
    time), e-mail off, or another process has it."""
    account = session.get(Account, account_id)
    if account is None or account.status != AccountStatus.active:
        return None
    found = notifications.places(session=session, keys=keys, account=account)
    heads = {network_id: place.head for network_id, place in found.items()}
    if not notifications.has_new(session=session, account=account, found=found):
        mailed(session=session, account_id=account_id, heads=heads)
        return None
    if not claim(session=session, account_id=account_id, now=now, interval=interval):
        return None
    return Digest(account_id=account.id, email=account.email, heads=heads)


def claim(*, session: Session, account_id: str, now: datetime, interval: timedelta) -> bool:
    """Compare-and-set: only the process whose UPDATE finds the last e-mail old enough sends this digest."""
    notifications.ensure_preference(session=session, account_id=account_id)
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(NotificationPreference)
            .where(
                col(NotificationPreference.account_id) == account_id,
                col(NotificationPreference.email) == True,  # noqa: E712
                or_(
                    col(NotificationPreference.last_emailed_at).is_(None),
                    col(NotificationPreference.last_emailed_at) <= now - interval,
                ),
            )
            .values(last_emailed_at=now)
        ),
    )
    return result.rowcount == 1


def mailed(*, session: Session, account_id: str, heads: dict[str, int]) -> None:
    for network_id, head in heads.items():
        notifications.raise_mark(session=session, account_id=account_id, network_id=network_id, mailed=head)


class Mailer:
    """The digest loop of one process: every poll, e-mail whoever has something new and is due. Supervised: a
    failed round is logged and the next one runs as usual."""

    def __init__(self, db: Database, keys: Keyring, settings: Settings, send: Sender | None = None) -> None:
        self.db = db
        self.keys = keys
        self.settings = settings
        self._send = send or self._smtp
        self._task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.settings.email_digest_minutes)

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="patchwork-email-digest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self, now: datetime | None = None) -> int:
        """One round; returns how many digests were sent."""
        moment = now or utcnow()
        interval = self.interval
        due = await self.db.run(lambda session: candidates(session=session, now=moment, interval=interval))
        sent = 0
        for account_id in due:
            digest = await self.db.run(functools.partial(self._prepare, account_id=account_id, now=moment))
            if digest is None:
                continue
            try:
                await self._send(message(self.settings, digest.email))
            except (aiosmtplib.SMTPException, OSError) as error:
                # The claim stands, so this person is tried again after the interval, not at every poll.
                log.warning("email.digest_failed", extra={"account_id": account_id, "error": type(error).__name__})
                continue
            await self.db.run(functools.partial(self._mailed, digest=digest))
            log.info("email.digest_sent", extra={"account_id": account_id})
            sent += 1
        return sent

    async def tell_account_exists(self, to: str) -> None:
        """Sent at once, not with the digest; a failure is logged and the request's answer is the same."""
        try:
            await self._send(account_exists_message(self.settings, to))
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("email.account_exists_failed", extra={"error": type(error).__name__})

    async def send_reset(self, to: str, secret: str) -> None:
        """Sent at once; a failure is logged and the answer to the request is the same."""
        try:
            await self._send(reset_message(self.settings, to, secret))
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("email.reset_failed", extra={"error": type(error).__name__})

    def _prepare(self, session: Session, *, account_id: str, now: datetime) -> Digest | None:
        return prepare(session=session, keys=self.keys, account_id=account_id, now=now, interval=self.interval)

    @staticmethod
    def _mailed(session: Session, *, digest: Digest) -> None:
        mailed(session=session, account_id=digest.account_id, heads=digest.heads)

    async def _supervise(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("email.digest_round_failed")
                await asyncio.sleep(RESTART_SECONDS)
            await asyncio.sleep(self.settings.email_poll_seconds)

    async def _smtp(self, email: EmailMessage) -> object:
        settings = self.settings
        return await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=30,
        )
