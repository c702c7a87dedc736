"""The audit trail: a gapless HMAC chain that names the first changed, inserted, deleted or cut-off event."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlmodel import col, select

from bench.audit import BenchError, run_verify_bench
from patchwork import policy
from patchwork.db import Database, normalise_url
from patchwork.errors import NotFound
from patchwork.models import AuditEvent, AuditHead, SignInFailure, new_id
from patchwork.models.audit import GENESIS_HASH
from patchwork.services import audit
from patchwork.settings import ConfigurationError, Settings
from tests.conftest import PG_URL, make_settings
from tests.test_cli import patchwork

ADMIN = policy.Actor(account_id=new_id(), kind="admin", organisation_id=None, is_org_admin=False)
PRACTITIONER = policy.Actor(account_id=new_id(), kind="practitioner", organisation_id=new_id(), is_org_admin=True)
FAMILY = policy.Actor(account_id=new_id(), kind="family", organisation_id=None, is_org_admin=False)


@dataclass
class Trail:
    db: Database
    key: bytes

    def append(self, count: int, **fields: str) -> list[AuditEvent]:
        events = []
        for _ in range(count):
            with self.db.transaction() as session:
                events.append(audit.record(session=session, key=self.key, action="network.viewed", **fields))
        return events

    def verify(self, checkpoint: audit.Checkpoint | None = None, batch: int = 5000) -> audit.VerifyResult:
        with self.db.transaction() as session:
            return audit.verify(session=session, key=self.key, checkpoint=checkpoint, batch=batch)

    def checkpoint(self) -> audit.Checkpoint:
        with self.db.transaction() as session:
            return audit.checkpoint(session=session)

    def sql(self, statement: str, **params: object) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(text(statement), params)

    def head(self) -> tuple[int, str]:
        with self.db.transaction() as session:
            head = session.exec(select(AuditHead)).one()
            return head.seq, head.hash

    def events(self) -> list[AuditEvent]:
        with self.db.transaction() as session:
            return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())


@pytest.fixture
def trail(db: Database, settings: Settings) -> Iterator[Trail]:
    yield Trail(db=db, key=audit.audit_key(settings))


def _reset_chain(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event"))
        connection.execute(text("DELETE FROM audit_head"))
        connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :zero)"), {"zero": GENESIS_HASH})


# Appending


def test_appends_form_a_gapless_chain_from_one(trail: Trail) -> None:
    trail.append(4, actor_id=ADMIN.account_id)
    with trail.db.transaction() as session:
        for _ in range(3):
            audit.record(session=session, key=trail.key, action="child.searched", details={"matched": False})

    events = trail.events()
    assert [e.seq for e in events] == list(range(1, 8))
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert len({e.hash for e in events}) == 7
    assert all(e.at.tzinfo is not None for e in events)
    assert trail.head() == (7, events[-1].hash)
    assert trail.verify() == audit.VerifyResult(ok=True, events_checked=7)


def test_an_event_commits_or_rolls_back_with_the_change_it_records(trail: Trail) -> None:
    with pytest.raises(RuntimeError), trail.db.transaction() as session:
        session.add(SignInFailure(key="the change"))
        audit.record(session=session, key=trail.key, action="involvement.added", network_id=new_id())
        raise RuntimeError("the change failed")
    assert trail.events() == []
    assert trail.head() == (0, GENESIS_HASH)
    assert [e.seq for e in trail.append(1)] == [1]


def test_an_empty_trail_verifies(trail: Trail) -> None:
    assert trail.verify() == audit.VerifyResult(ok=True, events_checked=0)
    assert (trail.checkpoint().seq, trail.checkpoint().hash) == (0, GENESIS_HASH)


def test_record_keeps_details_as_canonical_json(trail: Trail) -> None:
    with trail.db.transaction() as session:
        event = audit.record(
            session=session,
            key=trail.key,
            action="network.merged",
            actor_id=ADMIN.account_id,
            network_id="n-into",
            target_type="network",
            target_id="n-from",
            details={"into": "n-into", "from": "n-from"},
        )
    assert event.details == '{"from":"n-from","into":"n-into"}'
    assert trail.verify().ok


@pytest.mark.parametrize(
    "details",
    [
        {"nhs_number": "9434765919"},
        {"child": {"given_name": "Amy"}},
        {"Body": "note text"},
        {"summary": "x" * 201},
        {"when": object()},
    ],
)
def test_details_refuse_child_identifiers_and_free_text(trail: Trail, details: dict[str, object]) -> None:
    with pytest.raises(ValueError), trail.db.transaction() as session:
        audit.record(session=session, key=trail.key, action="child.searched", details=details)
    assert trail.events() == []


@pytest.mark.parametrize("action", ["", "viewed", "Network.Viewed", "network viewed", "a." + "b" * 63])
def test_actions_are_dotted_names(trail: Trail, action: str) -> None:
    with pytest.raises(ValueError), trail.db.transaction() as session:
        audit.record(session=session, key=trail.key, action=action)


def test_the_orm_refuses_to_update_or_delete_an_event(trail: Trail) -> None:
    trail.append(1)
    with pytest.raises(RuntimeError, match="append-only"), trail.db.transaction() as session:
        event = session.exec(select(AuditEvent)).one()
        event.action = "network.merged"
        session.flush()
    with pytest.raises(RuntimeError, match="append-only"), trail.db.transaction() as session:
        session.delete(session.exec(select(AuditEvent)).one())
        session.flush()
    assert trail.verify().ok


def test_a_missing_head_row_stops_appends_and_fails_verification(trail: Trail) -> None:
    trail.append(2)
    trail.sql("DELETE FROM audit_head")
    with pytest.raises(audit.AuditTrailUnavailable), trail.db.transaction() as session:
        audit.record(session=session, key=trail.key, action="network.viewed")
    result = trail.verify()
    assert not result.ok and "head row is missing" in result.problem


def test_concurrent_appends_from_several_threads_make_one_gapless_chain(trail: Trail) -> None:
    threads, each = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(number: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with trail.db.transaction() as session:
                    session.add(SignInFailure(key=f"worker-{number}-{i}"))
                    audit.record(session=session, key=trail.key, action="network.viewed", details={"worker": number})
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []

    events = trail.events()
    assert [e.seq for e in events] == list(range(1, threads * each + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert trail.head() == (threads * each, events[-1].hash)
    assert trail.verify(batch=7) == audit.VerifyResult(ok=True, events_checked=threads * each)
    with trail.db.transaction() as session:
        assert len(session.exec(select(SignInFailure)).all()) == threads * each


APPENDER = """
import sys
from patchwork.db import Database
from patchwork.services import audit

db = Database(sys.argv[1])
for _ in range(int(sys.argv[3])):
    with db.transaction() as session:
        audit.record(session=session, key=bytes.fromhex(sys.argv[2]), action="network.viewed")
db.dispose()
"""


def test_concurrent_appends_from_several_processes_make_one_gapless_chain(trail: Trail, database_url: str) -> None:
    processes, each = 4, 25
    appenders = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, database_url, trail.key.hex(), str(each)], stderr=subprocess.PIPE
        )
        for _ in range(processes)
    ]
    for appender in appenders:
        _, stderr = appender.communicate(timeout=120)
        assert appender.returncode == 0, stderr.decode()
    assert [e.seq for e in trail.events()] == list(range(1, processes * each + 1))
    assert trail.verify() == audit.VerifyResult(ok=True, events_checked=processes * each)


def test_verifying_while_others_append_reports_no_false_alarm(trail: Trail) -> None:
    trail.append(20)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not done.is_set():
                trail.append(1)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        results = [trail.verify(batch=4) for _ in range(15)]
    finally:
        done.set()
        thread.join(timeout=60)
    assert errors == []
    assert all(result.ok for result in results), [r.problem for r in results if not r.ok]
    assert trail.verify().events_checked == trail.head()[0]


# Tampering


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_event SET action = 'network.merged' WHERE seq = 3",
        "UPDATE audit_event SET actor_id = 'someone-else' WHERE seq = 3",
        "UPDATE audit_event SET network_id = NULL WHERE seq = 3",
        "UPDATE audit_event SET details = '{\"matched\": true}' WHERE seq = 3",
        "UPDATE audit_event SET id = 'a-different-id' WHERE seq = 3",
    ],
)
def test_a_changed_event_is_named(trail: Trail, change: str) -> None:
    trail.append(6, actor_id=ADMIN.account_id, network_id="n1")
    trail.sql(change)
    event_id = trail.events()[2].id

    result = trail.verify(batch=2)

    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 3, event_id)
    assert result.events_checked == 2
    assert result.problem == f"event 3 (id {event_id}) was changed: its contents do not match its hash"


def test_a_changed_time_is_caught(trail: Trail) -> None:
    events = trail.append(4)
    with trail.db.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(col(AuditEvent.seq) == 2).values(at=events[1].at - timedelta(0, 1)))
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 2, events[1].id)


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link(trail: Trail) -> None:
    events = trail.append(4)
    # Without the key a forger can only use a hash of their own: the next event no longer links to it.
    trail.sql("UPDATE audit_event SET action = 'network.merged', hash = :forged WHERE seq = 2", forged="f" * 64)
    result = trail.verify()
    assert (result.first_bad_seq, result.first_bad_id) == (2, events[1].id)
    assert "was changed" in result.problem


def test_an_inserted_event_is_named(trail: Trail) -> None:
    events = trail.append(5)
    # Make room after event 2 (in two steps, as a unique column allows), then forge an event linked to event 2.
    trail.sql("UPDATE audit_event SET seq = -seq WHERE seq >= 3")
    trail.sql("UPDATE audit_event SET seq = 1 - seq WHERE seq < 0")
    forged = _forged_event(seq=3, prev_hash=events[1].hash, at=events[1].at)
    trail.sql(
        "INSERT INTO audit_event (id, seq, at, actor_id, action, network_id, target_type, target_id, details, "
        "prev_hash, hash) VALUES (:id, :seq, :at, :actor_id, :action, :network_id, :target_type, :target_id, "
        ":details, :prev_hash, :hash)",
        **forged,
    )
    trail.sql("UPDATE audit_head SET seq = 6")

    result = trail.verify()

    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 3, forged["id"])
    assert result.problem == f"event 3 (id {forged['id']}) was inserted: the next event links to the one before it"


def test_an_event_appended_behind_the_heads_back_is_named(trail: Trail) -> None:
    events = trail.append(3)
    forged = _forged_event(seq=4, prev_hash=events[-1].hash, at=events[-1].at)
    with trail.db.transaction() as session:
        session.add(AuditEvent(**forged))
    result = trail.verify()
    assert (result.first_bad_seq, result.first_bad_id) == (4, forged["id"])
    assert "was inserted" in result.problem


def _forged_event(*, seq: int, prev_hash: str, at: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": new_id(),
        "seq": seq,
        "at": at,
        "actor_id": ADMIN.account_id,
        "action": "network.viewed",
        "network_id": "n1",
        "target_type": None,
        "target_id": None,
        "details": "{}",
        "prev_hash": prev_hash,
    }
    fields["hash"] = audit.chain_hash(b"not the key" * 3, **fields)  # type: ignore[arg-type]
    return fields


@pytest.mark.parametrize(("deleted", "first_bad"), [((3,), 3), ((1,), 1), ((3, 4), 3)])
def test_a_deleted_event_is_named(trail: Trail, deleted: tuple[int, ...], first_bad: int) -> None:
    events = trail.append(6)
    for seq in deleted:
        trail.sql("DELETE FROM audit_event WHERE seq = :seq", seq=seq)

    result = trail.verify(batch=2)

    resumes = events[deleted[-1]]
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, first_bad, None)
    assert result.events_checked == first_bad - 1
    assert f"event {resumes.seq} (id {resumes.id})" in result.problem
    assert ("were deleted" if len(deleted) > 1 else f"event {first_bad} was deleted") in result.problem


def test_a_deleted_and_renumbered_event_is_caught(trail: Trail) -> None:
    events = trail.append(5)
    trail.sql("DELETE FROM audit_event WHERE seq = 3")
    trail.sql("UPDATE audit_event SET seq = seq - 1 WHERE seq > 3")
    result = trail.verify()
    assert (result.first_bad_seq, result.first_bad_id) == (3, events[3].id)


def test_a_deleted_tail_is_caught_by_the_head(trail: Trail) -> None:
    trail.append(8)
    trail.sql("DELETE FROM audit_event WHERE seq > 6")
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 7, 6)
    assert result.problem == "events 7 to 8 were cut off: the trail ends at event 6 but the audit head records event 8"


def test_a_cut_off_tail_with_a_rewound_head_needs_the_checkpoint(trail: Trail) -> None:
    """Deleting the newest events and rewinding the head leaves a shorter chain that is itself valid.

    Only a checkpoint exported before the cut can show that events are missing: verification without one
    passes, which is why operators should export checkpoints regularly and keep them off the database server.
    """
    events = trail.append(8)
    saved = audit.checkpoint_to_json(trail.checkpoint())
    trail.sql("DELETE FROM audit_event WHERE seq > 5")
    trail.sql("UPDATE audit_head SET seq = 5, hash = :hash", hash=events[4].hash)

    assert trail.verify() == audit.VerifyResult(ok=True, events_checked=5)
    result = trail.verify(audit.checkpoint_from_json(saved))
    assert (result.ok, result.first_bad_seq, result.first_bad_id, result.events_checked) == (False, 6, None, 5)
    assert result.problem == "events 6 to 8 were cut off: the trail ends at event 5 but the checkpoint records event 8"


def test_a_checkpoint_from_earlier_still_verifies_as_the_trail_grows(trail: Trail) -> None:
    trail.append(3)
    earlier = trail.checkpoint()
    trail.append(4)
    assert trail.verify(earlier) == audit.VerifyResult(ok=True, events_checked=7)
    assert trail.verify(audit.Checkpoint(seq=0, hash=GENESIS_HASH)).ok


def test_a_checkpoint_that_disagrees_with_the_trail_is_reported(trail: Trail) -> None:
    events = trail.append(4)
    result = trail.verify(audit.Checkpoint(seq=2, hash="a" * 64))
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 2, events[1].id)
    assert "differs from the checkpoint" in result.problem
    assert not trail.verify(audit.Checkpoint(seq=0, hash="a" * 64)).ok


def test_a_rewound_head_with_the_events_left_in_place_is_reported(trail: Trail) -> None:
    events = trail.append(5)
    trail.sql("UPDATE audit_head SET seq = 3, hash = :hash", hash=events[2].hash)
    result = trail.verify()
    assert not result.ok and result.first_bad_seq == 4
    assert "the audit head records event 3 but the trail goes on to event 5" in result.problem


def test_a_head_hash_that_disagrees_is_reported(trail: Trail) -> None:
    trail.append(3)
    trail.sql("UPDATE audit_head SET hash = :hash", hash="b" * 64)
    result = trail.verify()
    assert not result.ok and result.first_bad_seq == 3


def test_another_key_fails_from_the_first_event_and_names_the_missing_key(trail: Trail, database_url: str) -> None:
    events = trail.append(3)
    other = audit.audit_key(make_settings(database_url, audit_key="another-audit-key-" + "y" * 40))
    with trail.db.transaction() as session:
        result = audit.verify(session=session, key=other)
    assert (result.first_bad_seq, result.first_bad_id) == (1, events[0].id)
    assert f"sealed with audit key {audit.audit_key_id(trail.key)}, which is not configured" in result.problem


def test_events_without_a_key_id_and_another_key_say_the_key_may_have_changed(trail: Trail, database_url: str) -> None:
    """Events from before key ids were recorded: nothing names their key, so the message says what may be wrong."""
    events = trail.append(3)
    trail.sql("UPDATE audit_event SET key_id = NULL")
    other = audit.audit_key(make_settings(database_url, audit_key="another-audit-key-" + "y" * 40))
    with trail.db.transaction() as session:
        result = audit.verify(session=session, key=other)
    assert (result.first_bad_seq, result.first_bad_id) == (1, events[0].id)
    assert "PATCHWORK_AUDIT_KEY changed" in result.problem


# Keys and rotation


def test_the_key_comes_from_the_audit_key_or_else_the_secret_key(database_url: str) -> None:
    one = audit.audit_key(make_settings(database_url))
    assert len(one) == 32 and one == audit.audit_key(make_settings(database_url))
    assert one == audit.audit_key(make_settings(database_url, secret_key="another-secret-" + "y" * 40))
    assert one != audit.audit_key(make_settings(database_url, audit_key="another-audit-key-" + "y" * 40))
    assert one != make_settings(database_url).audit_key.encode()[:32]
    legacy = audit.audit_key(make_settings(database_url, audit_key=""))
    assert legacy == audit.derive_audit_key(make_settings(database_url).secret_key) != one
    with pytest.raises(ConfigurationError):
        audit.audit_key(make_settings(database_url, secret_key="", audit_key=""))


def test_each_event_records_the_id_of_its_key(trail: Trail) -> None:
    events = trail.append(2)
    assert {e.key_id for e in trail.events()} == {audit.audit_key_id(trail.key)}
    assert audit.audit_key_id(trail.key) not in trail.key.hex() and len(events) == 2


ROTATED = "rotated-audit-key-" + "b" * 40


def test_verify_passes_across_a_rotation_only_with_the_old_key_kept(trail: Trail, database_url: str) -> None:
    before = trail.append(3)
    old_id = audit.audit_key_id(trail.key)
    rotated = make_settings(database_url, audit_key=ROTATED, audit_keys_previous=make_settings(database_url).audit_key)
    new_key, previous = audit.audit_key(rotated), audit.previous_audit_keys(rotated)
    assert previous == (trail.key,)
    after = Trail(db=trail.db, key=new_key).append(2)
    assert {e.key_id for e in trail.events()} == {old_id, audit.audit_key_id(new_key)}
    assert after[0].prev_hash == before[-1].hash

    with trail.db.transaction() as session:
        assert audit.verify(session=session, key=new_key, previous_keys=previous) == audit.VerifyResult(True, 5)
        forgotten = audit.verify(session=session, key=new_key)
    assert (forgotten.ok, forgotten.first_bad_seq, forgotten.first_bad_id) == (False, 1, before[0].id)
    assert f"audit key {old_id}, which is not configured" in forgotten.problem
    assert "PATCHWORK_AUDIT_KEYS_PREVIOUS" in forgotten.problem

    # A change to an old event is still caught with the old key kept.
    trail.sql("UPDATE audit_event SET action = 'lead.appointed' WHERE seq = 2")
    with trail.db.transaction() as session:
        changed = audit.verify(session=session, key=new_key, previous_keys=previous)
    assert (changed.ok, changed.first_bad_seq) == (False, 2) and "was changed" in changed.problem


def test_a_trail_keyed_from_the_secret_key_verifies_after_moving_to_an_audit_key(
    trail: Trail, database_url: str
) -> None:
    """The upgrade path: events from before key ids (NULL) and events sealed from PATCHWORK_SECRET_KEY while
    PATCHWORK_AUDIT_KEY was unset verify once the former secret key is kept as a previous audit key, even after
    the secret key itself is rotated."""
    old = make_settings(database_url, audit_key="")
    legacy = Trail(db=trail.db, key=audit.audit_key(old))
    legacy.append(2)
    trail.sql("UPDATE audit_event SET key_id = NULL")  # as migration 0013 leaves the events before it
    legacy.append(2)
    moved = make_settings(
        database_url, secret_key="a-new-secret-" + "z" * 40, audit_key=ROTATED, audit_keys_previous=old.secret_key
    )
    Trail(db=trail.db, key=audit.audit_key(moved)).append(2)
    with trail.db.transaction() as session:
        result = audit.verify(
            session=session, key=audit.audit_key(moved), previous_keys=audit.previous_audit_keys(moved)
        )
        without = audit.verify(session=session, key=audit.audit_key(moved))
    assert result == audit.VerifyResult(True, 6)
    assert not without.ok and without.first_bad_seq == 1


def test_cli_verify_across_a_rotation(trail: Trail, database_url: str) -> None:
    trail.append(3)
    old_id = audit.audit_key_id(trail.key)
    Trail(db=trail.db, key=audit.audit_key(make_settings(database_url, audit_key=ROTATED))).append(2)
    rotated = {"PATCHWORK_AUDIT_KEY": ROTATED}
    kept = patchwork(
        "audit",
        "verify",
        database_url=database_url,
        extra_env=rotated | {"PATCHWORK_AUDIT_KEYS_PREVIOUS": make_settings(database_url).audit_key},
    )
    assert (kept.returncode, kept.stdout.strip()) == (0, "Audit trail intact: 5 events checked."), kept.stderr
    lost = patchwork("audit", "verify", database_url=database_url, extra_env=rotated)
    assert lost.returncode == 1
    assert "event 1 (id " in lost.stderr and f"sealed with audit key {old_id}, which is not configured" in lost.stderr


# Checkpoints


def test_checkpoints_round_trip_through_json(trail: Trail) -> None:
    trail.append(2)
    point = trail.checkpoint()
    data = json.loads(audit.checkpoint_to_json(point))
    assert set(data) == {"seq", "hash", "at"} and data["seq"] == 2
    again = audit.checkpoint_from_json(audit.checkpoint_to_json(point))
    assert (again.seq, again.hash) == (point.seq, point.hash)


@pytest.mark.parametrize(
    "text_",
    [
        "",
        "not json",
        "[]",
        '{"seq": 1}',
        '{"seq": "1", "hash": "' + "a" * 64 + '"}',
        '{"seq": true, "hash": "' + "a" * 64 + '"}',
        '{"seq": -1, "hash": "' + "a" * 64 + '"}',
        '{"seq": 1, "hash": "' + "A" * 64 + '"}',
        '{"seq": 1, "hash": "abc"}',
        '{"seq": 1, "hash": "' + "a" * 64 + '", "at": "yesterday"}',
    ],
)
def test_malformed_checkpoints_are_refused(text_: str) -> None:
    with pytest.raises(audit.MalformedCheckpoint):
        audit.checkpoint_from_json(text_)


# Reading the trail


@pytest.mark.parametrize("reader", [PRACTITIONER, FAMILY], ids=["org-admin-practitioner", "family"])
def test_only_a_system_admin_can_read_the_trail(trail: Trail, reader: policy.Actor) -> None:
    trail.append(2, network_id="n1")
    with pytest.raises(NotFound), trail.db.transaction() as session:
        audit.list_events(session=session, key=trail.key, actor=reader)
    with pytest.raises(NotFound), trail.db.transaction() as session:
        audit.events_for_network(session=session, key=trail.key, actor=reader, network_id="n1")
    assert len(trail.events()) == 2


def test_an_admin_reading_the_trail_is_itself_recorded(trail: Trail) -> None:
    trail.append(3, network_id="n1")
    trail.append(2, network_id="n2")
    with trail.db.transaction() as session:
        read = audit.events_for_network(session=session, key=trail.key, actor=ADMIN, network_id="n1", limit=2)
    assert [e.seq for e in read] == [3, 2]

    last = trail.events()[-1]
    assert (last.seq, last.action, last.actor_id, last.network_id) == (6, "audit.read", ADMIN.account_id, "n1")
    assert json.loads(last.details) == {"filters": {"limit": 2}, "returned": 2}

    with trail.db.transaction() as session:
        everything = audit.list_events(session=session, key=trail.key, actor=ADMIN, before_seq=6)
        reads = audit.list_events(session=session, key=trail.key, actor=ADMIN, action="audit.read")
    assert [e.seq for e in everything] == [5, 4, 3, 2, 1]
    assert [e.seq for e in reads] == [7, 6]
    assert trail.verify() == audit.VerifyResult(ok=True, events_checked=8)


# The console


def test_cli_verify_and_checkpoint(trail: Trail, database_url: str, tmp_path: Path) -> None:
    events = trail.append(6)

    intact = patchwork("audit", "verify", database_url=database_url)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "Audit trail intact: 6 events checked."

    taken = patchwork("audit", "checkpoint", database_url=database_url)
    assert taken.returncode == 0, taken.stderr
    saved = json.loads(taken.stdout)
    assert (saved["seq"], saved["hash"]) == (6, events[-1].hash) and saved["at"]
    checkpoint_file = tmp_path / "checkpoint.json"
    checkpoint_file.write_text(taken.stdout)

    trail.sql("DELETE FROM audit_event WHERE seq > 4")
    trail.sql("UPDATE audit_head SET seq = 4, hash = :hash", hash=events[3].hash)
    assert patchwork("audit", "verify", database_url=database_url).returncode == 0
    cut = patchwork("audit", "verify", "--checkpoint", str(checkpoint_file), database_url=database_url)
    assert cut.returncode == 1
    assert "events 5 to 6 were cut off" in cut.stderr

    trail.sql("UPDATE audit_event SET action = 'lead.appointed' WHERE seq = 2")
    changed = patchwork("audit", "verify", database_url=database_url)
    assert changed.returncode == 1
    assert f"event 2 (id {events[1].id}) was changed" in changed.stderr
    assert changed.stdout == ""


def test_cli_verify_with_a_matching_checkpoint_and_on_an_unmigrated_database(
    trail: Trail, database_url: str, tmp_path: Path
) -> None:
    trail.append(3)
    path = tmp_path / "checkpoint.json"
    path.write_text(audit.checkpoint_to_json(trail.checkpoint()))
    trail.append(2)
    ok = patchwork("audit", "verify", "--checkpoint", str(path), database_url=database_url)
    assert (ok.returncode, ok.stdout.strip()) == (
        0,
        "Audit trail intact: 5 events checked, checkpoint event 3 matches.",
    )

    empty = patchwork("audit", "verify", database_url=f"sqlite:///{tmp_path}/empty.db")
    assert empty.returncode == 2 and "is the database migrated?" in empty.stderr


def test_an_unreadable_event_is_named(trail: Trail, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite lets a timestamp column hold text that is not a time")
    events = trail.append(4)
    trail.sql("UPDATE audit_event SET at = 'not a time' WHERE seq = 3")
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.first_bad_id, result.events_checked) == (False, 3, events[2].id, 2)
    assert f"event 3 (id {events[2].id}) could not be read" in result.problem


@pytest.mark.parametrize("content", [None, "{not json", '{"seq": 1, "hash": "xyz"}'])
def test_cli_verify_refuses_a_bad_checkpoint_file(
    trail: Trail, database_url: str, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "checkpoint.json"
    if content is not None:
        path.write_text(content)
    result = patchwork("audit", "verify", "--checkpoint", str(path), database_url=database_url)
    assert result.returncode == 2
    assert str(path) in result.stderr


# The benchmark


def test_the_verify_bench_fills_and_verifies_a_throwaway_sqlite_database() -> None:
    result = run_verify_bench(None, 1200)
    assert result["database"] == "sqlite" and result["events"] == 1200
    assert result["seconds"] > 0 and result["events_per_second"] > 0


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need PATCHWORK_TEST_DATABASE_URL")
def test_the_verify_bench_uses_and_drops_a_throwaway_postgres_database() -> None:
    import psycopg

    assert PG_URL is not None

    def bench_databases() -> set[str]:
        with psycopg.connect(normalise_url(PG_URL).replace("postgresql+psycopg://", "postgresql://")) as connection:
            rows = connection.execute("SELECT datname FROM pg_database WHERE datname LIKE 'patchwork_bench_%'")
            return {row[0] for row in rows}

    before = bench_databases()
    result = run_verify_bench(PG_URL, 1200)
    assert result["database"] == "postgresql" and result["events"] == 1200
    assert bench_databases() <= before


def test_the_verify_bench_refuses_a_sqlite_url() -> None:
    with pytest.raises(BenchError):
        run_verify_bench("sqlite:///somewhere.db", 10)
