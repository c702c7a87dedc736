"""Demo data: realistic organisations and people, created once however often it runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth.passwords import Passwords
from patchwork.db import Database
from patchwork.models import Account, AccountKind, AccountStatus, Organisation, RecoveryCode
from patchwork.services.accounts import roles_of

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


async def create_demo(*, db: Database, passwords: Passwords, password: str | None) -> DemoResult:
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
        return DemoResult(accounts=result, created=created)

    return await db.run(write)
