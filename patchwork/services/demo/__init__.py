"""Demo data: realistic organisations and people, networks, notes and a family, created once however often it runs
(people, networks, notes, family; the large caseload is services/demo_caseload.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlmodel import Session

from patchwork.auth.passwords import Passwords
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.services.demo.family import FAMILY, FAMILY_NETWORK, FAMILY_NOTES, FAMILY_VOICE, create_demo_family
from patchwork.services.demo.networks import (
    DEMO_CHILDREN,
    DemoNetwork,
    create_demo_networks,
    family_by_email,
    leads_by_email,
    who_leads,
)
from patchwork.services.demo.notes import DEMO_NOTES, create_demo_notes
from patchwork.services.demo.people import (
    ADMIN,
    ORGANISATIONS,
    PRACTITIONERS,
    DemoAccount,
    create_demo_accounts,
    demo_passwords,
    email_for,
)
from patchwork.services.demo_caseload import create_caseload

__all__ = [
    "ADMIN",
    "DEMO_CHILDREN",
    "DEMO_NOTES",
    "FAMILY",
    "FAMILY_NETWORK",
    "FAMILY_NOTES",
    "FAMILY_VOICE",
    "ORGANISATIONS",
    "PRACTITIONERS",
    "DemoAccount",
    "DemoNetwork",
    "DemoResult",
    "create_demo",
    "create_demo_family",
    "create_demo_networks",
    "create_demo_notes",
    "email_for",
]


@dataclass(frozen=True)
class DemoResult:
    accounts: list[DemoAccount]
    created: int
    networks: list[str]
    led: list[DemoNetwork] = field(default_factory=list)  # the named networks and who leads each
    caseloads: list[tuple[str, int]] = field(default_factory=list)  # every other network, counted by its lead


async def create_demo(*, db: Database, passwords: Passwords, keys: Keyring, password: str | None) -> DemoResult:
    chosen = await demo_passwords(db=db, passwords=passwords, password=password)

    def write(session: Session) -> DemoResult:
        accounts, created = create_demo_accounts(session=session, passwords=chosen)
        network_ids = create_demo_networks(session=session, keys=keys)
        created += create_demo_notes(session=session, keys=keys, network_ids=network_ids)
        created += create_demo_family(session=session, keys=keys, network_id=network_ids[FAMILY_NETWORK])
        created += create_caseload(session=session, keys=keys)
        leads, families = leads_by_email(session, keys), family_by_email(session, keys)
        accounts = [replace(a, leads=leads.get(a.email, ()), family_of=families.get(a.email, ())) for a in accounts]
        led, caseloads = who_leads(session, keys, network_ids)
        return DemoResult(accounts=accounts, created=created, networks=network_ids, led=led, caseloads=caseloads)

    return await db.run(write)
