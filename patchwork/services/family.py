"""Families: a lead's invitation with a one-time code, accepting it, and what a family member sees of their network.

Codes are 16 characters from an alphabet without look-alikes (no 0/O, 1/I/L or U), about 78 bits: typed by hand
from a piece of paper, never guessable, and stored only as a digest. Wrong codes are throttled like sign-ins.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.auth.passwords import Passwords, WeakPassword, check_strength
from patchwork.auth.tokens import digest, same
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher, Keyring
from patchwork.db import Database
from patchwork.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from patchwork.models import Account, AccountKind, AccountStatus, FamilyInvitation, Organisation
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import FamilyMembership
from patchwork.services import activity, audit, changes, children, networks, notes, sealed_facts, throttle
from patchwork.services.accounts import actor_of
from patchwork.services.validation import Fields
from patchwork.services.visibility import family_viewer

log = logging.getLogger("patchwork.family")

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
CODE_GROUP = 4
INVALID_CODE = (
    "This code cannot be used. Check the code and your e-mail address. A code works once and only for a few "
    "days: if it has been used or is out of date, ask the lead professional for a new one"
)
NOT_FOR_FAMILY = (
    "This e-mail address cannot be used for a family account. Ask the lead professional to invite you with "
    "another e-mail address"
)
EXISTING_ACCOUNT = (
    "This e-mail address already has a Patchwork account. Enter its password to add this network to your account"
)


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise_code(value: str) -> str:
    """What the person typed, without spaces or dashes and in capitals: 'abcd efgh…' finds 'ABCD-EFGH-…'."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def code_digest(code: str) -> str:
    return digest(normalise_code(code))


# Inviting


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
    if place.viewer.kind != "practitioner":
        raise NotFound("No such network")
    if not policy.invite_family(actor_of(account), networks.facts(session, place.network)):
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


# Accepting


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

    def load(session: Session) -> tuple[int, _Found]:
        wait = throttle.retry_after(session=session, limits=limits, keys=guesses)
        if wait:
            return wait, _Found(None, None, None)
        invitation = session.exec(select(FamilyInvitation).where(FamilyInvitation.code_hash == digest(code))).first()
        network = session.get(Network, invitation.network_id) if invitation else None
        existing = session.exec(select(Account).where(func.lower(Account.email) == email)).first()
        return 0, _Found(invitation, network, existing)

    wait, found = await db.run(load)
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
    elif existing.kind != AccountKind.family or existing.status != AccountStatus.active:
        raise Invalid({"email": NOT_FOR_FAMILY})
    elif not await passwords.verify(existing.password_hash, password):
        raise await refuse("password", EXISTING_ACCOUNT)
    assert found.invitation is not None
    invitation_id = found.invitation.id

    def write(session: Session) -> Joined:
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
        if password_hash is not None:
            account = Account(
                email=email,
                name=name,
                kind=AccountKind.family,
                organisation_id=None,
                status=AccountStatus.active,
                password_hash=password_hash,
            )
            session.add(account)
            session.flush()
        else:
            assert existing is not None
            stored = session.get(Account, existing.id)
            assert stored is not None
            account = stored
        membership = admit(session=session, keys=keys, invitation=invitation, account=account, at=now)
        throttle.clear(session=session, key=throttle.account_key("family-invitation:" + email))
        return Joined(
            account=account, membership=membership, relationship=sealed_facts.relationship(keys.cipher, membership)
        )

    joined = await db.run(write)
    log.info("family.joined", extra={"account_id": joined.account.id, "network_id": joined.membership.network_id})
    return joined


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


# What a family member sees


@dataclass(frozen=True)
class InvolvedPerson:
    name: str
    role_label: str
    organisation: str
    is_lead: bool
    since: datetime


@dataclass(frozen=True)
class FamilyView:
    standing: notes.Standing
    child: children.ChildIdentity
    relationship: str
    involved: list[InvolvedPerson]
    page: notes.NotePage

    @property
    def network(self) -> Network:
        return self.standing.network

    @property
    def can_post(self) -> bool:
        return bool(policy.post_note(self.standing.viewer, network_status=self.network.status))


def _family_standing(session: Session, account: Account, network_id: str) -> notes.Standing:
    place = notes.standing(session=session, account=account, network_id=network_id)
    if not policy.view_as_family(place.viewer):
        raise NotFound("No such network")
    return place


def involved(*, session: Session, cipher: DataCipher, network_id: str) -> list[InvolvedPerson]:
    """Who is involved, as a family member may see it: sensitive involvements are left out entirely."""
    rows = session.exec(
        select(Involvement, Account, Organisation)
        .join(Account, col(Account.id) == Involvement.account_id)
        .join(Organisation, col(Organisation.id) == Involvement.organisation_id)
        .where(Involvement.network_id == network_id, Involvement.status == InvolvementStatus.active)
        .order_by(col(Involvement.is_lead).desc(), col(Involvement.started_at))
    ).all()
    return [
        InvolvedPerson(
            name=person.name,
            role_label=sealed_facts.role_label(cipher, involvement),
            organisation=organisation.name,
            is_lead=involvement.is_lead,
            since=involvement.started_at,
        )
        for involvement, person, organisation in rows
        if policy.family_sees_involvement(sensitive=involvement.sensitive)
    ]


def family_view(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    network_id: str,
    before: str | None = None,
    audited: bool = True,
) -> FamilyView:
    place = _family_standing(session, account, network_id)
    network = place.network
    membership = session.exec(
        select(FamilyMembership).where(
            FamilyMembership.network_id == network.id,
            FamilyMembership.account_id == account.id,
            FamilyMembership.active == True,  # noqa: E712
        )
    ).first()
    child = session.get(Child, network.child_id)
    assert child is not None
    page = notes.feed(session=session, keys=keys, account=account, network_id=network.id, before=before, known=place)
    if audited:
        audit.record(
            session=session, key=keys.audit, action="family.viewed", actor_id=account.id, network_id=network.id
        )
    return FamilyView(
        standing=place,
        child=children.open_identity(keys.cipher, child),
        relationship=sealed_facts.relationship(keys.cipher, membership) if membership else "",
        involved=involved(session=session, cipher=keys.cipher, network_id=network.id),
        page=page,
    )


@dataclass(frozen=True)
class FamilyNetwork:
    network: Network
    child: children.ChildIdentity
    relationship: str
    last_activity_at: datetime  # as this family member may see it
    involved: int  # the people involved that this family member may see


def my_family_networks(*, session: Session, keys: Keyring, account: Account) -> list[FamilyNetwork]:
    if account.kind != AccountKind.family:
        return []
    rows = session.exec(
        select(FamilyMembership, Network, Child)
        .join(Network, col(Network.id) == FamilyMembership.network_id)
        .join(Child, col(Child.id) == Network.child_id)
        .where(FamilyMembership.account_id == account.id, FamilyMembership.active == True)  # noqa: E712
    ).all()
    rows = [(m, network, child) for m, network, child in rows if network.status != NetworkStatus.merged]
    # Most recently active first, as this family member may see it: the order tells nothing of notes not shared.
    seen = activity.as_seen_by(session, {network.id: (network, family_viewer(account.id)) for _, network, _ in rows})
    return [
        FamilyNetwork(
            network=network,
            child=children.open_identity(keys.cipher, child),
            relationship=sealed_facts.relationship(keys.cipher, m),
            last_activity_at=seen[network.id],
            involved=len(involved(session=session, cipher=keys.cipher, network_id=network.id)),
        )
        for m, network, child in sorted(rows, key=lambda row: seen[row[1].id], reverse=True)
    ]


def network_view(
    *, session: Session, keys: Keyring, account: Account, network_id: str, audited: bool = True
) -> networks.NetworkView:
    """A network as its family member may see it through the API: who is involved, sensitive involvements left out
    entirely, and no work contact details (the family page shows none either)."""
    place = _family_standing(session, account, network_id)
    network = place.network
    if audited:
        audit.record(
            session=session, key=keys.audit, action="family.viewed", actor_id=account.id, network_id=network.id
        )
    child = session.get(Child, network.child_id)
    assert child is not None
    seen = activity.as_seen_by(session, {network.id: (network, place.viewer)})
    return networks.NetworkView(
        network=network,
        child=children.open_identity(keys.cipher, child),
        members=[
            member
            for member in networks.active_members(session, keys.cipher, network.id)
            if policy.family_sees_involvement(sensitive=member.involvement.sensitive)
        ],
        last_activity_at=seen[network.id],
        contacts_shown=False,
    )


# What practitioners see of a network's family


@dataclass(frozen=True)
class FamilyMember:
    user_id: str
    name: str
    relationship: str
    since: datetime


@dataclass(frozen=True)
class FamilyOfNetwork:
    network: Network
    members: list[FamilyMember]
    waiting: list[sealed_facts.InvitationView]  # unaccepted, unexpired invitations; only for leads


def family_of_network(*, session: Session, keys: Keyring, account: Account, network_id: str) -> FamilyOfNetwork:
    place = notes.standing(session=session, account=account, network_id=network_id)
    if place.viewer.kind != "practitioner":
        raise NotFound("No such network")
    rows = session.exec(
        select(FamilyMembership, Account)
        .join(Account, col(Account.id) == FamilyMembership.account_id)
        .where(FamilyMembership.network_id == place.network.id, FamilyMembership.active == True)  # noqa: E712
        .order_by(col(FamilyMembership.joined_at))
    ).all()
    waiting: list[sealed_facts.InvitationView] = []
    if place.viewer.is_lead:
        waiting = [
            sealed_facts.invitation_view(keys.cipher, invitation)
            for invitation in session.exec(
                select(FamilyInvitation)
                .where(
                    FamilyInvitation.network_id == place.network.id,
                    col(FamilyInvitation.accepted_at).is_(None),
                    col(FamilyInvitation.expires_at) > utcnow(),
                )
                .order_by(col(FamilyInvitation.created_at))
            ).all()
        ]
    return FamilyOfNetwork(
        network=place.network,
        members=[
            FamilyMember(
                user_id=a.id, name=a.name, relationship=sealed_facts.relationship(keys.cipher, m), since=m.joined_at
            )
            for m, a in rows
        ],
        waiting=waiting,
    )
