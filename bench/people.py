"""The organisations and practitioners a benchmark's database starts with."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from patchwork import outbox
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.networks import Network
from patchwork.services import children, sealed_facts


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


def network_of(
    session: Session,
    keys: Keyring,
    people: list[Account],
    *,
    child: children.ChildIdentity,
    joined_at: datetime,
    counter: bool = True,
) -> Network:
    """A network around `child` with every one of `people` involved since `joined_at`, the first as its lead
    (and, with `counter`, its event counter started, as the app does); flushed."""
    sealed = children.seal(session=session, cipher=keys.cipher, index=keys.index, identity=child)
    network = Network(child_id=sealed.id, created_by_id=people[0].id)
    session.add(network)
    session.flush()
    if counter:
        outbox.start_counter(session=session, network_id=network.id)
    for i, person in enumerate(people):
        involvement = sealed_facts.new_involvement(
            keys.cipher,
            network_id=network.id,
            account_id=person.id,
            organisation_id=person.organisation_id or "",
            sensitive=False,
            text=sealed_facts.InvolvementText("Role", "Bench", ""),
        )
        involvement.is_lead = i == 0
        involvement.started_at = joined_at
        session.add(involvement)
    session.flush()
    return network
