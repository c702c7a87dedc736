"""System admins, created from the console."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from patchwork import limits
from patchwork.auth.passwords import Passwords, WeakPassword, check_strength
from patchwork.db import Database
from patchwork.errors import Invalid
from patchwork.models import Account, AccountKind, AccountStatus
from patchwork.services.validation import Fields


async def create_system_admin(*, db: Database, passwords: Passwords, email: str, name: str, password: str) -> Account:
    fields = Fields()
    clean_email = fields.email("email", email)
    clean_name = fields.text("name", name, label="Name", max_length=limits.PERSON_NAME)
    try:
        check_strength(password, email=clean_email)
    except WeakPassword as problem:
        fields.fail("password", str(problem))
    fields.check()
    password_hash = await passwords.hash(password)

    def write(session: Session) -> Account:
        if session.exec(select(Account.id).where(func.lower(Account.email) == clean_email)).first():
            raise Invalid({"email": "An account with this e-mail address already exists"})
        account = Account(
            email=clean_email,
            name=clean_name,
            kind=AccountKind.admin,
            status=AccountStatus.active,
            password_hash=password_hash,
        )
        session.add(account)
        session.flush()
        return account

    return await db.run(write)
