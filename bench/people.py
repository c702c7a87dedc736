"""The organisations and practitioners a benchmark's database starts with."""

from __future__ import annotations

from sqlmodel import Session

from patchwork.models import Account, Organisation


def practitioners(session: Session, *, organisations: int, people: int) -> list[Account]:
    """`people` practitioners spread over `organisations` schools, the i-th in organisation i mod n; flushed."""
    made = [Organisation(name=f"Bench org {i}", type="school") for i in range(organisations)]
    session.add_all(made)
    session.flush()
    accounts = [
        Account(
            email=f"bench{i}@example.org",
            name=f"Bench Person {i}",
            kind="practitioner",
            organisation_id=made[i % organisations].id,
            status="active",
            password_hash="unused",
        )
        for i in range(people)
    ]
    session.add_all(accounts)
    session.flush()
    return accounts
