"""Demo data: realistic organisations and people, created once however often it runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth.passwords import Passwords
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.models import Account, AccountKind, AccountStatus, Network, Organisation, RecoveryCode
from patchwork.services import children, networks
from patchwork.services.accounts import actor_of, roles_of

ORGANISATIONS = [
    ("Oakfield Primary School", "school"),
    ("Riverside Children's Centre", "early_years"),
    ("Northgate Community Health Trust", "health"),
    ("Millbrook Medical Practice", "gp"),
    ("Eastshire Police", "police"),
    ("Eastshire Children's Social Care", "social_care"),
    ("Eastshire Early Help", "early_help"),
    ("Harbour Housing Association", "housing"),
]

# (name, job title, organisation index, organisation admin)
PRACTITIONERS = [
    ("Amira Khan", "Designated safeguarding lead", 0, True),
    ("Tom Fletcher", "Class teacher", 0, False),
    ("Grace Obi", "Children's centre manager", 1, True),
    ("Priya Nair", "Family support worker", 1, False),
    ("Helen Morgan", "School nurse", 2, True),
    ("Daniel Reyes", "Health visitor", 2, False),
    ("Dr Sarah Lewis", "GP", 3, True),
    ("Mark Evans", "Practice nurse", 3, False),
    ("Sgt Joe Bennett", "Police safeguarding officer", 4, True),
    ("Claire Dawson", "Social worker", 5, True),
    ("Ravi Patel", "Senior social worker", 5, False),
    ("Lucy Ward", "Early help practitioner", 6, True),
    ("Owen Hughes", "Early help practitioner", 6, False),
    ("Fatima Ali", "Housing officer", 7, True),
]

ADMIN = ("System Admin", "admin@patchwork.example.org")


def email_for(name: str, organisation: str) -> str:
    person = name.lower().replace("dr ", "").replace("sgt ", "").replace(" ", ".")
    domain = organisation.lower().replace("'", "").replace(" ", "-")
    return f"{person}@{domain}.example.org"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    kind: str
    roles: list[str]
    organisation: str | None
    password: str | None  # None when the account already existed and kept its password


@dataclass(frozen=True)
class DemoResult:
    accounts: list[DemoAccount]
    created: int
    networks: list[str]


async def create_demo(*, db: Database, passwords: Passwords, keys: Keyring, password: str | None) -> DemoResult:
    shared_hash = await passwords.hash(password) if password else None
    wanted = [(ADMIN[0], ADMIN[1], "", None, False)] + [
        (name, email_for(name, ORGANISATIONS[index][0]), title, index, is_admin)
        for name, title, index, is_admin in PRACTITIONERS
    ]
    existing = await db.run(
        lambda session: set(session.exec(select(Account.email).where(Account.email.in_([w[1] for w in wanted]))))  # type: ignore[attr-defined]
    )
    fresh_passwords = {
        email: secrets.token_urlsafe(12) for _, email, *_ in wanted if email not in existing and not password
    }
    fresh_hashes = {email: await passwords.hash(value) for email, value in fresh_passwords.items()}

    def write(session: Session) -> DemoResult:
        organisations: list[Organisation] = []
        created = 0
        for name, type_ in ORGANISATIONS:
            organisation = session.exec(
                select(Organisation).where(func.lower(Organisation.name) == name.lower())
            ).first()
            if organisation is None:
                organisation = Organisation(name=name, type=type_)
                session.add(organisation)
                session.flush()
                created += 1
            organisations.append(organisation)
        result: list[DemoAccount] = []
        for name, email, title, index, is_admin in wanted:
            account = session.exec(select(Account).where(Account.email == email)).first()
            organisation = organisations[index] if index is not None else None
            if account is None:
                account = Account(
                    email=email,
                    name=name,
                    job_title=title,
                    kind=AccountKind.admin if organisation is None else AccountKind.practitioner,
                    organisation_id=organisation.id if organisation else None,
                    is_org_admin=is_admin,
                    status=AccountStatus.active,
                    password_hash=shared_hash or fresh_hashes[email],
                )
                created += 1
            elif shared_hash is not None:
                account.password_hash = shared_hash
                account.totp_secret = None
                account.totp_last_step = None
                account.status = AccountStatus.active
                session.execute(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account.id))
            session.add(account)
            result.append(
                DemoAccount(
                    email=email,
                    kind=account.kind,
                    roles=roles_of(account),
                    organisation=organisation.name if organisation else None,
                    password=password or fresh_passwords.get(email),
                )
            )
        session.flush()
        return DemoResult(accounts=result, created=created, networks=create_demo_networks(session=session, keys=keys))

    return await db.run(write)


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
