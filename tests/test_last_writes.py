"""The rows every writer takes in turn (a network's event counter and activity time, the audit chain's head) are
written when a unit of work commits: two units of work in flight do not wait for each other until then, numbers
follow the order of commit, and a unit of work still reads what it has recorded."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from patchwork import last_writes, outbox, policy
from patchwork.db import Database
from patchwork.models import Account, AuditEvent, Network, new_id
from patchwork.models.events import NetworkEvent
from patchwork.runtime import keyring_for
from patchwork.services import audit, children, rows
from patchwork.settings import Settings

ADMIN = policy.Actor(account_id=new_id(), kind="admin", organisation_id=None, is_org_admin=False)


def _network(db: Database, settings: Settings) -> str:
    keys = keyring_for(settings)
    with db.transaction() as session:
        account = Account(
            email="writer@example.org", name="Writer", kind="practitioner", status="active", password_hash="x"
        )
        session.add(account)
        session.flush()
        identity = children.ChildIdentity("Last", "Writes", date(2016, 6, 6))
        child = children.seal(session=session, cipher=keys.cipher, index=keys.index, identity=identity)
        network = Network(child_id=child.id, created_by_id=account.id)
        session.add(network)
        session.flush()
        outbox.start_counter(session=session, network_id=network.id)
        return network.id


def _change(session: Session, settings: Settings, network_id: str, label: str) -> audit.Recorded:
    """What every change others see does: touch the network, append its event, record it in the trail."""
    network = session.get(Network, network_id)
    assert network is not None
    rows.touch(session, network, network.created_at)
    outbox.append(session=session, network_id=network_id, type="note.created", note_id=label)
    return audit.record(session=session, key=keyring_for(settings).audit, action="note.created", network_id=network_id)


def test_a_unit_of_work_in_flight_does_not_hold_up_another(db: Database, settings: Settings) -> None:
    network_id = _network(db, settings)
    first_recorded = threading.Event()
    second_done = threading.Event()
    recorded: dict[str, audit.Recorded] = {}
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_recorded.wait(10)
            with db.transaction() as session:
                recorded["second"] = _change(session, settings, network_id, "second")
            second_done.set()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    other = threading.Thread(target=second)
    other.start()
    with db.transaction() as session:
        recorded["first"] = _change(session, settings, network_id, "first")
        first_recorded.set()
        # The second unit of work touches the same network, appends to the same counter and chain, and commits
        # while this one is still open: it waits for nothing this one holds.
        assert second_done.wait(10), "the second unit of work waited for the first to commit"
    other.join(10)
    assert not errors

    assert (recorded["second"].seq, recorded["first"].seq) == (1, 2)
    assert recorded["first"].prev_hash == recorded["second"].hash
    with db.transaction() as session:
        events = session.exec(select(NetworkEvent).order_by(col(NetworkEvent.seq))).all()
        assert [(e.seq, e.data) for e in events] == [(1, '{"note_id": "second"}'), (2, '{"note_id": "first"}')]
        assert outbox.head(session=session, network_id=network_id) == 2
        assert audit.verify(session=session, key=keyring_for(settings).audit).ok


def test_the_announcement_is_numbered_when_the_unit_of_work_commits(db: Database, settings: Settings) -> None:
    network_id = _network(db, settings)
    with db.transaction() as session:
        _change(session, settings, network_id, "one")
        told = outbox.rung(session)[network_id]
        assert told[0]["seq"] == 0  # not numbered yet: the counter is not locked before the commit
    assert told[0]["seq"] == 1


def test_a_unit_of_work_reads_what_it_has_recorded(db: Database, settings: Settings) -> None:
    network_id = _network(db, settings)
    with db.transaction() as session:
        mine = _change(session, settings, network_id, "read back")
        found = session.exec(select(AuditEvent).where(col(AuditEvent.id) == mine.id)).one()
        assert (found.seq, found.hash) == (mine.seq, mine.hash) == (1, found.hash)
        assert [e.seq for e in outbox.rows_after(session, network_id, 0)] == [1]


def test_a_rolled_back_unit_of_work_leaves_nothing_to_write_later(db: Database, settings: Settings) -> None:
    network_id = _network(db, settings)
    with Session(db.engine) as session:
        _change(session, settings, network_id, "dropped")
        session.rollback()
        session.commit()  # the same session, after its rollback: nothing of the dropped change comes back
    with db.transaction() as session:
        assert session.exec(select(AuditEvent)).all() == []
        assert outbox.head(session=session, network_id=network_id) == 0
        assert audit.list_events(session=session, key=keyring_for(settings).audit, actor=ADMIN) == []


_SEEN_BY_LOWER_RANK: list[list[object]] = []


@last_writes.writer(90, tables=())
def _lower(session: OrmSession, items: list[object]) -> None:
    _SEEN_BY_LOWER_RANK.append(last_writes.pending(session, 91))


@last_writes.writer(91, tables=())
def _higher(session: OrmSession, items: list[object]) -> None:
    _SEEN_BY_LOWER_RANK.append(list(items))


def test_a_writer_sees_what_the_writers_after_it_will_write(db: Database) -> None:
    # The outbox's writer locks the audit head in its own statement when audit events are to follow.
    _SEEN_BY_LOWER_RANK.clear()
    with db.transaction() as session:
        last_writes.defer(session, 90, "event")
        last_writes.defer(session, 91, "audit one")
        last_writes.defer(session, 91, "audit two")
        assert last_writes.pending(session, 91) == ["audit one", "audit two"]
    assert _SEEN_BY_LOWER_RANK == [["audit one", "audit two"], ["audit one", "audit two"]]
