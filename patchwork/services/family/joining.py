"""Accepting a family invitation: a new family account, or an existing one, joins the invitation's network."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.auth.passwords import Passwords, WeakPassword, check_strength
from patchwork.auth.tokens import digest, same
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher, Keyring
from patchwork.db import Database
from patchwork.errors import Conflict, Invalid, TooManyRequests
from patchwork.models import Account, AccountKind, AccountStatus, FamilyInvitation
from patchwork.models.networks import Network
from patchwork.models.notes import FamilyMembership
from patchwork.services import changes, sealed_facts, throttle
from patchwork.services.accounts import actor_of
from patchwork.services.family.invitations import CODE_ALPHABET, CODE_LENGTH, normalise_code
from patchwork.services.validation import Fields

log = logging.getLogger("patchwork.family")

INVALID_CODE = (
    "This code cannot be used. Check the code and your e-mail address. A code works once and only for a few "
    "days: if it has been used or is out of date, ask the lead professional for a new one"
)
NOT_FOR_FAMILY = policy.NOT_FOR_FAMILY
EXISTING_ACCOUNT = (
    "This e-mail address already has a Patchwork account. Enter its password to add this network to your account"
)


@dataclass(frozen=True)
class Acceptance:
    """What the accept form or the API sends, unchecked."""

    code: object
    email: object
    name: object
    password: object


@dataclass(frozen=True)
class Joined:
    account: Account
    membership: FamilyMembership
    relationship: str


def clean_acceptance(details: Acceptance) -> tuple[str, str, str, str]:
    fields = Fields()
    code = normalise_code(details.code) if isinstance(details.code, str) else ""
    if not code:
        fields.fail("code", "Enter the code from your invitation")
    elif len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        fields.fail("code", "Enter the code as it is written, 16 letters and numbers like ABCD-EFGH-JKMN-PQRS")
    email = fields.email("email", details.email, label="Your e-mail address")
    name = fields.text("name", details.name, label="Your full name", max_length=limits.PERSON_NAME)
    password = details.password if isinstance(details.password, str) else ""
    try:
        check_strength(password, email=email, name=name)
    except WeakPassword as problem:
        fields.fail("password", str(problem) if password else "Enter a password")
    fields.check()
    return code, email, name, password


@dataclass(frozen=True)
class _Found:
    invitation: FamilyInvitation | None
    network: Network | None
    existing: Account | None


def _usable(cipher: DataCipher, found: _Found, email: str, now: datetime) -> bool:
    invitation, network = found.invitation, found.network
    if invitation is None or network is None:
        return False
    if not same(sealed_facts.open_invitation(cipher, invitation).email, email):
        return False
    return bool(
        policy.accept_family_invitation(
            accepted=invitation.accepted_at is not None,
            expired=now >= invitation.expires_at,
            network_status=network.status,
        )
    )


async def accept(
    *,
    db: Database,
    passwords: Passwords,
    keys: Keyring,
    limits: throttle.Limits,
    details: Acceptance,
    address: str,
) -> Joined:
    """A family account (or an existing one) joins the invitation's network; wrong codes count towards a throttle."""
    code, email, name, password = clean_acceptance(details)
    guesses = {
        throttle.account_key("family-invitation:" + email): limits.per_account,
        throttle.address_key(address): limits.per_address,
    }
    wait, found = await db.run(lambda session: _find(session, limits, guesses, code, email))
    if wait:
        log.warning("family.accept_throttled", extra={"address": address})
        raise TooManyRequests(
            f"Too many codes tried. Wait {max(1, round(wait / 60))} minutes and try again", retry_after=wait
        )

    async def refuse(field: str, message: str) -> Invalid:
        await db.run(lambda session: throttle.record_failure(session=session, keys=list(guesses)))
        log.info("family.accept_refused", extra={"address": address, "field": field})
        return Invalid({field: message})

    if not _usable(keys.cipher, found, email, utcnow()):
        raise await refuse("code", INVALID_CODE)
    existing = found.existing
    password_hash: str | None = None
    if existing is None:
        password_hash = await passwords.hash(password)
    else:
        joins = policy.family_account_joins(actor_of(existing), active=existing.status == AccountStatus.active)
        if not joins:
            raise Invalid({"email": joins.reason})
        if not await passwords.verify(existing.password_hash, password):
            raise await refuse("password", EXISTING_ACCOUNT)
    assert found.invitation is not None
    newcomer = _Newcomer(email, name, password_hash, existing.id if existing else None)
    invitation_id = found.invitation.id
    joined = await db.run(lambda session: _join(session, keys, invitation_id, newcomer))
    log.info("family.joined", extra={"account_id": joined.account.id, "network_id": joined.membership.network_id})
    return joined


def _find(
    session: Session, limits: throttle.Limits, guesses: dict[str, int], code: str, email: str
) -> tuple[int, _Found]:
    """How long the throttle makes this person wait (0: not at all), else the invitation and any account of the
    address."""
    wait = throttle.retry_after(session=session, limits=limits, keys=guesses)
    if wait:
        return wait, _Found(None, None, None)
    invitation = session.exec(select(FamilyInvitation).where(FamilyInvitation.code_hash == digest(code))).first()
    network = session.get(Network, invitation.network_id) if invitation else None
    existing = session.exec(select(Account).where(func.lower(Account.email) == email)).first()
    return 0, _Found(invitation, network, existing)


@dataclass(frozen=True)
class _Newcomer:
    """Who accepts: a new family account (with its password's hash) or an existing one (its id)."""

    email: str
    name: str
    password_hash: str | None
    existing_id: str | None


def _join(session: Session, keys: Keyring, invitation_id: str, newcomer: _Newcomer) -> Joined:
    """Claim the invitation (once, however many accept it at the same moment) and admit the account."""
    now = utcnow()
    claimed = session.exec(
        update(FamilyInvitation)
        .where(
            col(FamilyInvitation.id) == invitation_id,
            col(FamilyInvitation.accepted_at).is_(None),
            col(FamilyInvitation.expires_at) > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    invitation = session.get(FamilyInvitation, invitation_id)
    if claimed.rowcount != 1 or invitation is None:
        raise Invalid({"code": INVALID_CODE})
    account = _account_of(session, newcomer)
    membership = admit(session=session, keys=keys, invitation=invitation, account=account, at=now)
    throttle.clear(session=session, key=throttle.account_key("family-invitation:" + newcomer.email))
    return Joined(
        account=account, membership=membership, relationship=sealed_facts.relationship(keys.cipher, membership)
    )


def _account_of(session: Session, newcomer: _Newcomer) -> Account:
    if newcomer.password_hash is None:
        assert newcomer.existing_id is not None
        stored = session.get(Account, newcomer.existing_id)
        assert stored is not None
        return stored
    account = Account(
        email=newcomer.email,
        name=newcomer.name,
        kind=AccountKind.family,
        organisation_id=None,
        status=AccountStatus.active,
        password_hash=newcomer.password_hash,
    )
    session.add(account)
    session.flush()
    return account


def admit(
    *, session: Session, keys: Keyring, invitation: FamilyInvitation, account: Account, at: datetime
) -> FamilyMembership:
    """The invitation is used up and its account joins the invitation's network as a family member."""
    already = session.exec(
        select(FamilyMembership.id).where(
            FamilyMembership.network_id == invitation.network_id,
            FamilyMembership.account_id == account.id,
            FamilyMembership.active == True,  # noqa: E712
        )
    ).first()
    if already is not None:
        raise Conflict("You are already in this network. Sign in to see it", code="already_member")
    membership = sealed_facts.new_membership(
        keys.cipher,
        network_id=invitation.network_id,
        account_id=account.id,
        joined_at=at,
        relationship=sealed_facts.open_invitation(keys.cipher, invitation).relationship,
    )
    session.add(membership)
    invitation.accepted_at = invitation.accepted_at or at
    invitation.accepted_account_id = account.id
    session.add(invitation)
    session.flush()
    changes.record(
        session=session,
        keys=keys,
        action="family.joined",
        event="family.joined",
        actor_id=account.id,
        network_id=invitation.network_id,
        target_type="family_membership",
        target_id=membership.id,
        membership_id=membership.id,
        user_id=account.id,
    )
    return membership
