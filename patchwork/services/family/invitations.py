"""Inviting a family member: a lead's invitation into one network, with a one-time code to hand over.

Codes are 16 characters from an alphabet without look-alikes (no 0/O, 1/I/L or U), about 78 bits: typed by hand
from a piece of paper, never guessable, and stored only as a digest. Wrong codes are throttled like sign-ins.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.auth.tokens import digest
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, Forbidden, Invalid, NotFound
from patchwork.models import Account, FamilyInvitation
from patchwork.models.networks import Network, NetworkStatus
from patchwork.models.notes import FamilyMembership
from patchwork.services import changes, networks, notes, sealed_facts
from patchwork.services.accounts import actor_of
from patchwork.services.validation import Fields

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
CODE_GROUP = 4


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise_code(value: str) -> str:
    """What the person typed, without spaces or dashes and in capitals: 'abcd efgh…' finds 'ABCD-EFGH-…'."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def code_digest(code: str) -> str:
    return digest(normalise_code(code))


@dataclass(frozen=True)
class InvitationDetails:
    name: object
    relationship: object
    email: object


@dataclass(frozen=True)
class Invited:
    invitation: FamilyInvitation
    opened: sealed_facts.InvitationView
    code: str  # shown once, to hand over; never stored


def clean_invitation(details: InvitationDetails) -> tuple[str, str, str]:
    fields = Fields()
    name = fields.text("name", details.name, label="Their full name", max_length=limits.PERSON_NAME)
    relationship = fields.text(
        "relationship", details.relationship, label="Their relationship to the child", max_length=limits.RELATIONSHIP
    )
    email = fields.email("email", details.email, label="Their e-mail address")
    fields.check()
    return name, relationship, email


def check_can_invite(*, session: Session, account: Account, network_id: str) -> Network:
    """The network this account may invite family members into, or the reason it may not."""
    place = notes.standing(session=session, account=account, network_id=network_id)
    actor = actor_of(account)
    if not policy.see_network_family(actor):
        raise NotFound("No such network")
    if not policy.invite_family(actor, networks.facts(session, place.network)):
        if place.network.status != NetworkStatus.open:
            raise Conflict(
                "This network is closed. A lead professional must reopen it before inviting a family member",
                code="network_closed",
            )
        raise Forbidden("Only a lead professional can invite family members", code="not_lead")
    return place.network


def invite(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    details: InvitationDetails,
    lifetime: timedelta,
) -> Invited:
    network = check_can_invite(session=session, account=account, network_id=network_id)
    name, relationship, email = clean_invitation(details)
    already = session.exec(
        select(FamilyMembership.id)
        .join(Account, col(Account.id) == FamilyMembership.account_id)
        .where(
            FamilyMembership.network_id == network.id,
            FamilyMembership.active == True,  # noqa: E712
            func.lower(Account.email) == email,
        )
    ).first()
    if already is not None:
        raise Invalid({"email": "A family member with this e-mail address is already in this network"})
    now = utcnow()
    # A new code replaces any earlier one still waiting for the same person.
    session.exec(
        update(FamilyInvitation)
        .where(
            col(FamilyInvitation.network_id) == network.id,
            col(FamilyInvitation.email_index).in_(sealed_facts.email_indexes(keys.index, network.id, email)),
            col(FamilyInvitation.accepted_at).is_(None),
            col(FamilyInvitation.expires_at) > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    code = new_code()
    invitation = sealed_facts.new_invitation(
        keys.cipher,
        keys.index,
        network_id=network.id,
        invited_by_id=account.id,
        code_hash=code_digest(code),
        created_at=now,
        expires_at=now + lifetime,
        text=sealed_facts.InvitationText(name=name, relationship=relationship, email=email),
    )
    session.add(invitation)
    session.flush()
    changes.record(
        session=session,
        keys=keys,
        action="family.invited",
        actor_id=account.id,
        network_id=network.id,
        target_type="family_invitation",
        target_id=invitation.id,
    )
    return Invited(invitation=invitation, opened=sealed_facts.invitation_view(keys.cipher, invitation), code=code)
