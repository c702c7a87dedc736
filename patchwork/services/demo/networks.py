"""The demo networks: three children, each with the practitioners involved and a lead, created once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from patchwork.crypto import Keyring
from patchwork.models import Account, Child, Involvement, Network, Organisation
from patchwork.models.notes import FamilyMembership
from patchwork.services import children, networks, sealed_facts
from patchwork.services.accounts import actor_of
from patchwork.services.family import is_young_person

# (given, family, known as, date of birth, NHS number, postcode, members: (email-name, role label, lead))
DEMO_CHILDREN = [
    (
        "Maya",
        "Thompson",
        None,
        "2017-03-27",
        "9434765919",
        "EA1 4QT",
        [
            ("Amira Khan", "Designated safeguarding lead", True),
            ("Helen Morgan", "School nurse", False),
            ("Grace Obi", "Children's centre manager", False),
            ("Dr Sarah Lewis", "GP", False),
        ],
    ),
    (
        "Leo",
        "Kowalski",
        "Lenny",
        "2020-11-02",
        None,
        "EA3 2BD",
        [
            ("Priya Nair", "Family support worker", True),
            ("Daniel Reyes", "Health visitor", False),
            ("Fatima Ali", "Housing officer", False),
        ],
    ),
    (
        "Aisha",
        "Begum",
        None,
        "2012-06-14",
        "4010232137",
        None,
        [
            ("Claire Dawson", "Social worker", True),
            ("Tom Fletcher", "Class teacher", False),
            ("Sgt Joe Bennett", "Police safeguarding officer", False),
            ("Lucy Ward", "Early help practitioner", False),
        ],
    ),
]


def create_demo_networks(*, session: Session, keys: Keyring) -> list[str]:
    """The demo networks, created once: found again by exact search the next time."""
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    network_ids: list[str] = []
    for given, family, known_as, born, nhs, postcode, members in DEMO_CHILDREN:
        identity = children.ChildIdentity(given, family, date.fromisoformat(born), nhs, postcode, known_as)
        query = children.SearchQuery(family, identity.date_of_birth, given, None)
        child_id = children.find_exact(session=session, index=keys.index, query=query)
        if child_id is not None:
            network = session.exec(select(Network).where(Network.child_id == child_id)).one()
            network_ids.append(network.id)
            continue
        starter = accounts[members[0][0]]
        network = networks.start_network(
            session=session,
            keys=keys,
            actor=actor_of(starter),
            identity=identity,
            details=networks.InvolvementDetails(
                role_label=members[0][1], reason="Demo network", contact=_contact(starter)
            ),
        )
        for name, role, _ in members[1:]:
            account = accounts[name]
            networks.register_involvement(
                session=session,
                keys=keys,
                actor=actor_of(account),
                network_id=network.id,
                details=networks.InvolvementDetails(role_label=role, reason="Demo network", contact=_contact(account)),
            )
        for name, _, lead in members:
            if lead:
                networks.appoint_lead(
                    session=session,
                    keys=keys,
                    actor=actor_of(accounts[name]),
                    network_id=network.id,
                    user_id=accounts[name].id,
                )
        network_ids.append(network.id)
    return network_ids


def _contact(account: Account) -> str:
    return account.email


def leads_by_email(session: Session, keys: Keyring) -> dict[str, tuple[str, ...]]:
    led: dict[str, list[str]] = {}
    for email, child in session.exec(
        select(Account.email, Child)
        .join(Involvement, col(Involvement.account_id) == Account.id)
        .join(Network, col(Network.id) == Involvement.network_id)
        .join(Child, col(Child.id) == Network.child_id)
        .where(Involvement.status == "active", col(Involvement.is_lead).is_(True))
    ).all():
        led.setdefault(email, []).append(children.open_identity(keys.cipher, child).display_name)
    return {email: tuple(sorted(names)) for email, names in led.items()}


@dataclass(frozen=True)
class DemoNetwork:
    """One demo network as the account list shows it: whose it is and who leads it ("Amira Khan, Oakfield Primary
    School")."""

    id: str
    child: str
    leads: tuple[str, ...]


def who_leads(
    session: Session, keys: Keyring, network_ids: list[str]
) -> tuple[list[DemoNetwork], list[tuple[str, int]]]:
    """The named demo networks with their leads, and every other network (the caseload) counted by its lead."""
    leads: dict[str, list[str]] = {}
    for network_id, name, organisation in session.exec(
        select(Involvement.network_id, Account.name, Organisation.name)
        .join(Account, col(Account.id) == Involvement.account_id)
        .join(Organisation, col(Organisation.id) == Involvement.organisation_id)
        .where(Involvement.status == "active", col(Involvement.is_lead).is_(True))
        .order_by(col(Account.name))
    ).all():
        leads.setdefault(network_id, []).append(f"{name}, {organisation}")
    named = []
    for network_id in network_ids:
        network = session.get(Network, network_id)
        child = session.get(Child, network.child_id) if network else None
        if child is not None:
            shown = children.open_identity(keys.cipher, child).display_name
            named.append(DemoNetwork(id=network_id, child=shown, leads=tuple(leads.get(network_id, ()))))
    others = Counter(lead for network_id, people in leads.items() if network_id not in network_ids for lead in people)
    return named, sorted(others.items())


def family_by_email(session: Session, keys: Keyring) -> dict[str, tuple[str, ...]]:
    """Where each family account is, and as what: "Aisha Begum's network, as Mother"."""
    found: dict[str, list[str]] = {}
    for email, membership, child in session.exec(
        select(Account.email, FamilyMembership, Child)
        .join(FamilyMembership, col(FamilyMembership.account_id) == Account.id)
        .join(Network, col(Network.id) == FamilyMembership.network_id)
        .join(Child, col(Child.id) == Network.child_id)
        .where(FamilyMembership.active == True)  # noqa: E712
    ).all():
        relationship = sealed_facts.relationship(keys.cipher, membership)
        as_what = "the young person" if is_young_person(relationship) else relationship
        found.setdefault(email, []).append(
            f"{children.open_identity(keys.cipher, child).display_name}'s network, as {as_what}"
        )
    return {email: tuple(sorted(places)) for email, places in found.items()}
