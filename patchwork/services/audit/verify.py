"""Verifying the audit trail: recompute the chain in sequence order and report the first event that is not as it
was written, each event checked with the key it names."""

from __future__ import annotations

import hmac
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session, col

from patchwork.models import AuditEvent
from patchwork.models.audit import GENESIS_HASH
from patchwork.services.audit.chain import audit_key_id, hash_fields, read_head
from patchwork.services.audit.checkpoints import Checkpoint

# What loading a row raises when a column holds something its type cannot hold (SQLite lets raw SQL do that).
UNREADABLE = (ValueError, TypeError, ArithmeticError)

_CHAIN_COLUMNS: tuple[Any, ...] = (
    col(AuditEvent.seq),
    col(AuditEvent.id),
    col(AuditEvent.at),
    col(AuditEvent.actor_id),
    col(AuditEvent.action),
    col(AuditEvent.network_id),
    col(AuditEvent.target_type),
    col(AuditEvent.target_id),
    col(AuditEvent.details),
    col(AuditEvent.prev_hash),
    col(AuditEvent.hash),
    col(AuditEvent.key_id),
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str = ""


def _row_hash(key: bytes, row: Sequence[Any]) -> str:
    """The hash a streamed row should carry: its columns are in _CHAIN_COLUMNS order, then the stored hash and
    the key id."""
    return hash_fields(key, row[0], row[1], row[2], *row[3:10])


class _Keys:
    """The audit keys `verify` holds, by id; events without a key id are tried with each in turn."""

    def __init__(self, current: bytes, previous: Sequence[bytes]) -> None:
        self.by_id = {audit_key_id(key): key for key in (current, *previous)}
        self._unnamed = current  # the key that last sealed an event without an id: the next is likely the same

    def for_row(self, row: Row[Any]) -> bytes | None:
        return self._unnamed if row.key_id is None else self.by_id.get(row.key_id)

    def seals(self, row: Row[Any]) -> bool:
        key = self.for_row(row)
        if key is not None and hmac.compare_digest(_row_hash(key, row), row.hash):
            return True
        if row.key_id is not None:
            return False
        for other in self.by_id.values():
            if other is not key and hmac.compare_digest(_row_hash(other, row), row.hash):
                self._unnamed = other
                return True
        return False


def _stream(session: Session, batch: int, *, after: int = 0) -> Generator[Row[Any]]:
    """Events after `after` in sequence order, fetched `batch` rows at a time (server-side on PostgreSQL)."""
    query = select(*_CHAIN_COLUMNS).where(col(AuditEvent.seq) > after).order_by(col(AuditEvent.seq))
    result = session.connection().execute(query, execution_options={"yield_per": batch})
    try:
        for partition in result.partitions():
            yield from partition
    finally:
        result.close()


def _span(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first} to {last} were"


def verify(
    *,
    session: Session,
    key: bytes,
    previous_keys: Sequence[bytes] = (),
    checkpoint: Checkpoint | None = None,
    batch: int = 5000,
) -> VerifyResult:
    """Recompute the chain in sequence order and report the first event that is not as it was written.

    Each event is checked with the key it names: `key` or one of `previous_keys`. Appends may carry on while this
    runs: events after the head read at the start are checked as well, and the head is read again at the end.
    """
    start_head = read_head(session)
    if start_head is None:
        return VerifyResult(False, 0, None, None, "the audit head row is missing")
    if checkpoint is not None and checkpoint.seq == 0 and checkpoint.hash != GENESIS_HASH:
        return VerifyResult(False, 0, None, None, "the checkpoint does not belong to this audit trail")
    targets = {start_head[0]: ("the audit head", start_head[1])}
    if checkpoint is not None:
        targets[checkpoint.seq] = ("the checkpoint", checkpoint.hash)
    walk = _Walk(session, _Keys(key, previous_keys), targets, start_head[0], max(1, batch))
    try:
        problem = walk.run()
    finally:
        walk.close()
    return problem if problem is not None else walk.end()


class _Walk:
    """One pass along the chain in sequence order: how many events are checked, the sequence number the next must
    carry and the hash it must link to. `targets` are the hashes known from elsewhere (the head, a checkpoint)."""

    def __init__(
        self, session: Session, keys: _Keys, targets: dict[int, tuple[str, str]], head_seq: int, batch: int
    ) -> None:
        self.session, self.keys, self.targets, self.head_seq = session, keys, targets, head_seq
        self.checked, self.expected, self.previous = 0, 1, GENESIS_HASH
        self.rows, self.one_by_one = _stream(session, batch), False

    def bad(self, seq: int | None, event_id: str | None, problem: str) -> VerifyResult:
        return VerifyResult(False, self.checked, seq, event_id, problem)

    def close(self) -> None:
        self.rows.close()

    def run(self) -> VerifyResult | None:
        """The first problem along the chain, or None when every event is as it was written."""
        while True:
            try:
                row = next(self.rows, None)
            except UNREADABLE as error:
                self.rows.close()
                if not self.one_by_one:
                    # A batch failed to load: read again from here one event at a time to find the culprit.
                    self.rows, self.one_by_one = _stream(self.session, 1, after=self.expected - 1), True
                    continue
                event_id = _id_of(self.session, self.expected)
                where = f"event {self.expected}" + (f" (id {event_id})" if event_id else "")
                return self.bad(self.expected, event_id, f"{where} could not be read ({error}): it was altered")
            if row is None:
                return None
            problem = self.check(row)
            if problem is not None:
                return problem
            self.checked, self.expected, self.previous = self.checked + 1, self.expected + 1, row.hash

    def check(self, row: Row[Any]) -> VerifyResult | None:
        expected, where = self.expected, f"event {row.seq} (id {row.id})"
        if row.seq > expected:
            jump = f"the trail starts at {where}" if expected == 1 else f"event {expected - 1} is followed by {where}"
            return self.bad(expected, None, f"{_span(expected, row.seq - 1)} deleted: {jump}")
        if row.seq < expected:
            return self.bad(row.seq, row.id, f"{where} is out of sequence: expected event {expected}")
        if self.keys.for_row(row) is None:
            return self.bad(
                row.seq,
                row.id,
                f"{where} was sealed with audit key {row.key_id}, which is not configured: give that key in "
                "PATCHWORK_AUDIT_KEYS_PREVIOUS",
            )
        if not self.keys.seals(row):
            following = _next_quietly(self.rows)
            return self.bad(row.seq, row.id, _mismatch(self.keys, where, row, following, self.previous, self.head_seq))
        if row.prev_hash != self.previous:
            return self.bad(row.seq, row.id, f"{where} does not link to event {expected - 1}: an event was replaced")
        target = self.targets.get(row.seq)
        if target is not None and not hmac.compare_digest(row.hash, target[1]):
            return self.bad(row.seq, row.id, f"{where} differs from {target[0]}: the trail was rewritten after it")
        return None

    def end(self) -> VerifyResult:
        """After the last event: the head and any checkpoint must not record events beyond it."""
        last = self.expected - 1
        for seq, (name, _) in sorted(self.targets.items()):
            if seq > last:
                return self.bad(
                    last + 1,
                    None,
                    f"{_span(last + 1, seq)} cut off: the trail ends at event {last} but {name} records event {seq}",
                )
        return _check_end(self.session, self.checked, last, self.previous)


def _mismatch(keys: _Keys, where: str, row: Row[Any], following: Row[Any] | None, previous: str, head_seq: int) -> str:
    """Why an event's hash does not match, judged by how the event after it links."""
    if following is not None and following.prev_hash == previous:
        return f"{where} was inserted: the next event links to the one before it"
    if following is not None and following.prev_hash == row.hash and not keys.seals(following):
        return (
            f"{where} and the event after it do not match their hashes: the trail was written with another key "
            "(has PATCHWORK_AUDIT_KEY changed, or PATCHWORK_SECRET_KEY while it was unset?) or rewritten"
        )
    if following is None and row.seq > head_seq:
        return f"{where} was inserted: it lies beyond the audit head"
    return f"{where} was changed: its contents do not match its hash"


def _next_quietly(rows: Generator[Row[Any]]) -> Row[Any] | None:
    try:
        return next(rows, None)
    except UNREADABLE:
        return None


def _id_of(session: Session, seq: int) -> str | None:
    found = session.connection().execute(select(col(AuditEvent.id)).where(col(AuditEvent.seq) == seq)).first()
    return None if found is None else str(found.id)


def _check_end(session: Session, checked: int, last: int, last_hash: str) -> VerifyResult:
    """Compare the head, read again now, with where the chain ended."""
    head = read_head(session)
    if head is None:
        return VerifyResult(False, checked, None, None, "the audit head row is missing")
    seq, hash_ = head
    if seq < last:
        return VerifyResult(
            False, checked, seq + 1, None, f"the audit head records event {seq} but the trail goes on to event {last}"
        )
    if seq == last and not hmac.compare_digest(hash_, last_hash):
        return VerifyResult(False, checked, last, None, f"the audit head's hash differs from event {last}'s")
    if seq > last and _id_of(session, last + 1) is None:
        # A higher head is fine while the next event exists: it was appended after the stream went past.
        return VerifyResult(
            False, checked, last + 1, None, f"{_span(last + 1, seq)} deleted: the audit head records event {seq}"
        )
    return VerifyResult(True, checked)
