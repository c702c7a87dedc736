"""What a family member sees of their networks, and what practitioners see of a network's family."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import DataCipher, Keyring
from patchwork.errors import NotFound
from patchwork.models import Account, FamilyInvitation, Organisation
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import FamilyMembership
from patchwork.services import activity, audit, children, networks, notes, sealed_facts
from patchwork.services.accounts import actor_of
from patchwork.services.family.words import Addressing, addressing
from patchwork.services.visibility import family_viewer


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

    @property
    def addressed(self) -> Addressing:
        return addressing(child=self.child, relationship=self.relationship)


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

    @property
    def addressed(self) -> Addressing:
        return addressing(child=self.child, relationship=self.relationship)


def my_family_networks(*, session: Session, keys: Keyring, account: Account) -> list[FamilyNetwork]:
    if not policy.sees_as_family(actor_of(account)):
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
    if not policy.see_network_family(actor_of(account)):
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
