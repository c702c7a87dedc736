"""The demo organisations and people: practitioners, a system admin and the family's accounts, created once;
`--password` gives every one of them that password."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth.passwords import Passwords
from patchwork.db import Database
from patchwork.models import Account, AccountKind, AccountStatus, Organisation, RecoveryCode
from patchwork.services.accounts import roles_of
from patchwork.services.demo.family import FAMILY

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
    leads: tuple[str, ...] = ()  # the children whose networks this person leads
    family_of: tuple[str, ...] = ()  # for a family account: "Aisha Begum's network, as Mother"


# (name, e-mail, job title, organisation index or None for the system admin, organisation admin)
WANTED = [(ADMIN[0], ADMIN[1], "", None, False)] + [
    (name, email_for(name, ORGANISATIONS[index][0]), title, index, is_admin)
    for name, title, index, is_admin in PRACTITIONERS
]
EMAILS = [w[1] for w in WANTED] + [email for _, email, _ in FAMILY]


@dataclass(frozen=True)
class DemoPasswords:
    """`--password` and its hash, or a fresh password for each account that does not exist yet."""

    shared: str | None
    shared_hash: str | None
    fresh: dict[str, str]
    fresh_hashes: dict[str, str]

    def hash_for(self, email: str) -> str:
        return self.shared_hash or self.fresh_hashes[email]

    def shown_for(self, email: str) -> str | None:
        return self.shared or self.fresh.get(email)


async def demo_passwords(*, db: Database, passwords: Passwords, password: str | None) -> DemoPasswords:
    shared_hash = await passwords.hash(password) if password else None
    existing = await db.run(
        lambda session: set(session.exec(select(Account.email).where(col(Account.email).in_(EMAILS))))
    )
    fresh = {email: secrets.token_urlsafe(12) for email in EMAILS if email not in existing and not password}
    fresh_hashes = {email: await passwords.hash(value) for email, value in fresh.items()}
    return DemoPasswords(password, shared_hash, fresh, fresh_hashes)


def create_demo_accounts(*, session: Session, passwords: DemoPasswords) -> tuple[list[DemoAccount], int]:
    """The organisations and every demo account, and how many of them were created now."""
    organisations, created = _organisations(session)
    result: list[DemoAccount] = []
    for name, email, title, index, is_admin in WANTED:
        organisation = organisations[index] if index is not None else None
        account, new = _account(
            session,
            passwords,
            email,
            name=name,
            job_title=title,
            kind=AccountKind.admin if organisation is None else AccountKind.practitioner,
            organisation_id=organisation.id if organisation else None,
            is_org_admin=is_admin,
        )
        created += new
        result.append(_shown(account, passwords, organisation.name if organisation else None))
    for name, email, _ in FAMILY:
        account, new = _account(session, passwords, email, name=name, kind=AccountKind.family)
        created += new
        result.append(_shown(account, passwords, None))
    session.flush()
    return result, created


def _organisations(session: Session) -> tuple[list[Organisation], int]:
    organisations: list[Organisation] = []
    created = 0
    for name, type_ in ORGANISATIONS:
        organisation = session.exec(select(Organisation).where(func.lower(Organisation.name) == name.lower())).first()
        if organisation is None:
            organisation = Organisation(name=name, type=type_)
            session.add(organisation)
            session.flush()
            created += 1
        organisations.append(organisation)
    return organisations, created


def _account(session: Session, passwords: DemoPasswords, email: str, **fields: Any) -> tuple[Account, int]:
    """The account of `email`, made active with `fields` if there is none (then 1 was created, else 0)."""
    account = session.exec(select(Account).where(Account.email == email)).first()
    created = 0
    if account is None:
        account = Account(email=email, status=AccountStatus.active, password_hash=passwords.hash_for(email), **fields)
        created = 1
    elif passwords.shared_hash is not None:
        _reset(session, account, passwords.shared_hash)
    session.add(account)
    return account, created


def _shown(account: Account, passwords: DemoPasswords, organisation: str | None) -> DemoAccount:
    return DemoAccount(
        email=account.email,
        kind=account.kind,
        roles=roles_of(account),
        organisation=organisation,
        password=passwords.shown_for(account.email),
    )


def _reset(session: Session, account: Account, password_hash: str) -> None:
    """`--password`: every demo account gets that password and no second factor."""
    account.password_hash = password_hash
    account.totp_secret = None
    account.totp_last_step = None
    account.status = AccountStatus.active
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account.id))
