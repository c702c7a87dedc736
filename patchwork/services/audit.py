"""The audit trail: append events to an HMAC chain, verify the chain, export checkpoints, and let admins read it.

Each event's hash is HMAC-SHA256 over its own fields and the previous event's hash, so without the key an
event cannot be changed, inserted or deleted unnoticed. Cutting off the newest events and rewinding the head
row leaves a shorter chain that is still valid; a checkpoint exported earlier is what catches that.

The key comes from PATCHWORK_AUDIT_KEY, or from PATCHWORK_SECRET_KEY while that is unset (as before the audit
key existed). Each event records the id of the key that sealed it, so the key can be rotated: the old one goes
into PATCHWORK_AUDIT_KEYS_PREVIOUS and `verify` checks each event with the key it names. Events written before
key ids were recorded have none: `verify` checks them with whichever configured key seals them.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as select_models

from patchwork import policy
from patchwork.clock import isoformat, utcnow
from patchwork.crypto import key_id
from patchwork.errors import NotFound
from patchwork.models import AuditEvent, AuditHead, new_id
from patchwork.models.audit import GENESIS_HASH, HEAD_ID
from patchwork.settings import ConfigurationError, Settings

HKDF_INFO = b"patchwork-audit-chain"
HASH_FORMAT = "patchwork-audit-v1"
ACTION_PATTERN = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# A guard against the obvious mistakes; callers remain responsible for keeping details free of personal data.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"body", "text", "given_name", "family_name", "known_as", "date_of_birth", "nhs_number", "postcode", "child"}
)
MAX_DETAIL_STRING = 200
MAX_DETAILS_CHARS = 1000
MAX_LIST_LIMIT = 500
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


class AuditTrailUnavailable(RuntimeError):
    """The head row is missing or moved under us: the trail cannot be appended to safely."""


class MalformedCheckpoint(ValueError):
    """A checkpoint file that is not the JSON `patchwork audit checkpoint` prints."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime | None = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str = ""


def audit_key(settings: Settings) -> bytes:
    """The chain's HMAC key: from PATCHWORK_AUDIT_KEY, or from PATCHWORK_SECRET_KEY while that is unset."""
    master = settings.audit_key or settings.secret_key
    if not master:
        raise ConfigurationError("PATCHWORK_AUDIT_KEY (or PATCHWORK_SECRET_KEY) is needed to sign the audit trail.")
    return derive_audit_key(master)


def previous_audit_keys(settings: Settings) -> tuple[bytes, ...]:
    """The keys of PATCHWORK_AUDIT_KEYS_PREVIOUS, which verify older events but never seal new ones."""
    return tuple(derive_audit_key(value) for value in settings.previous_audit_keys)


def derive_audit_key(master: str) -> bytes:
    """The same derivation for an audit key and a secret key: a former secret key works as a previous audit key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(master.encode())


@lru_cache(maxsize=16)
def audit_key_id(key: bytes) -> str:
    """What an event stores to name its key; it tells nothing of the key."""
    return key_id(HKDF_INFO + key)


def chain_hash(
    key: bytes,
    *,
    seq: int,
    id: str,
    at: datetime,
    actor_id: str | None,
    action: str,
    network_id: str | None,
    target_type: str | None,
    target_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """HMAC-SHA256 of an event's canonical bytes (a JSON array, so no field can bleed into the next)."""
    return _hash_fields(key, seq, id, at, actor_id, action, network_id, target_type, target_id, details, prev_hash)


_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def _hash_fields(key: bytes, seq: int, id_: str, at: datetime, *rest: str | None) -> str:
    # Positional and with one shared encoder: `verify` runs this a million times.
    canonical = _encode([HASH_FORMAT, seq, id_, _instant(at), *rest])
    return hmac.digest(key, canonical.encode("ascii"), "sha256").hex()


def _instant(at: datetime) -> str:
    if at.tzinfo is not UTC:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def details_json(details: Mapping[str, Any] | None) -> str:
    """The stored form of an event's details, refusing what looks like a child's identifiers or free text."""
    if not details:
        return "{}"
    _check_details(details)
    text = json.dumps(details, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(text) > MAX_DETAILS_CHARS:
        raise ValueError(f"audit details are limited to {MAX_DETAILS_CHARS} characters")
    return text


def _check_details(value: object) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("audit detail keys must be strings")
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"audit details must not hold {key!r}: no child identifiers or note text")
            _check_details(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_details(item)
    elif isinstance(value, str):
        if len(value) > MAX_DETAIL_STRING:
            raise ValueError(f"audit detail values are limited to {MAX_DETAIL_STRING} characters")
    elif value is not None and not isinstance(value, bool | int | float):
        raise ValueError(f"audit details hold plain JSON values, not {type(value).__name__}")


@dataclass(frozen=True)
class Recorded:
    """An event as appended to the trail."""

    id: str
    seq: int
    at: datetime
    action: str
    details: str
    prev_hash: str
    hash: str


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
# Built once: an append is on the path of every change, and building a statement costs more than running it.
_INSERT_EVENT = insert(_EVENTS)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.seq == bindparam("head_seq"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_LOCK_HEAD_SQLITE = (
    # SQLite has no row locks: a write takes the database's write lock (waiting for busy_timeout) before the
    # read, so no two transactions can read the same head.
    update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=_HEAD.c.seq).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID).with_for_update()


def record(
    *,
    session: Session,
    key: bytes,
    action: str,
    actor_id: str | None = None,
    network_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Recorded:
    """Append one event inside the caller's transaction, so that a change and its audit commit together.
    Written with plain SQL statements: every change others see comes this way, so it is kept cheap."""
    if len(action) > 64 or not ACTION_PATTERN.match(action):
        raise ValueError(f"audit action {action!r} is not a dotted lowercase name of at most 64 characters")
    details_text = details_json(details)
    connection = session.connection()
    head_seq, head_hash = _lock_head(connection)
    event_id, seq, at = new_id(), head_seq + 1, utcnow()
    fields = (actor_id, action, network_id, target_type, target_id, details_text, head_hash)
    event_hash = _hash_fields(key, seq, event_id, at, *fields)  # the key id is not hashed: it names the key
    connection.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "action": action,
            "network_id": network_id,
            "target_type": target_type,
            "target_id": target_id,
            "details": details_text,
            "prev_hash": head_hash,
            "hash": event_hash,
            "key_id": audit_key_id(key),
        },
    )
    moved = connection.execute(_MOVE_HEAD, {"head_seq": head_seq, "new_seq": seq, "new_hash": event_hash})
    if moved.rowcount != 1:
        raise AuditTrailUnavailable("the audit head moved while it was locked; the event was not recorded")
    return Recorded(event_id, seq, at, action, details_text, head_hash, event_hash)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Take the head row's lock for the rest of the transaction and read it."""
    row = connection.execute(_LOCK_HEAD_SQLITE if connection.dialect.name == "sqlite" else _LOCK_HEAD).first()
    if row is None:
        raise AuditTrailUnavailable("the audit head row is missing; run `patchwork db upgrade`")
    return int(row.seq), str(row.hash)


def _row_hash(key: bytes, row: Sequence[Any]) -> str:
    """The hash a streamed row should carry: its columns are in _CHAIN_COLUMNS order, then the stored hash and
    the key id."""
    return _hash_fields(key, row[0], row[1], row[2], *row[3:10])


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


def _read_head(session: Session) -> tuple[int, str] | None:
    query = select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == HEAD_ID)
    row = session.connection().execute(query).first()
    return None if row is None else (int(row.seq), str(row.hash))


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
    batch = max(1, batch)
    keys = _Keys(key, previous_keys)
    start_head = _read_head(session)
    if start_head is None:
        return VerifyResult(False, 0, None, None, "the audit head row is missing")
    if checkpoint is not None and checkpoint.seq == 0 and checkpoint.hash != GENESIS_HASH:
        return VerifyResult(False, 0, None, None, "the checkpoint does not belong to this audit trail")
    targets = {start_head[0]: ("the audit head", start_head[1])}
    if checkpoint is not None:
        targets[checkpoint.seq] = ("the checkpoint", checkpoint.hash)

    def bad(seq: int | None, event_id: str | None, problem: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, event_id, problem)

    checked, expected, previous = 0, 1, GENESIS_HASH
    rows, one_by_one = _stream(session, batch), False
    try:
        while True:
            try:
                row = next(rows, None)
            except UNREADABLE as error:
                rows.close()
                if not one_by_one:
                    # A batch failed to load: read again from here one event at a time to find the culprit.
                    rows, one_by_one = _stream(session, 1, after=expected - 1), True
                    continue
                event_id = _id_of(session, expected)
                where = f"event {expected}" + (f" (id {event_id})" if event_id else "")
                return bad(expected, event_id, f"{where} could not be read ({error}): it was altered")
            if row is None:
                break
            where = f"event {row.seq} (id {row.id})"
            if row.seq > expected:
                jump = (
                    f"the trail starts at {where}" if expected == 1 else f"event {expected - 1} is followed by {where}"
                )
                return bad(expected, None, f"{_span(expected, row.seq - 1)} deleted: {jump}")
            if row.seq < expected:
                return bad(row.seq, row.id, f"{where} is out of sequence: expected event {expected}")
            if keys.for_row(row) is None:
                return bad(
                    row.seq,
                    row.id,
                    f"{where} was sealed with audit key {row.key_id}, which is not configured: give that key in "
                    "PATCHWORK_AUDIT_KEYS_PREVIOUS",
                )
            if not keys.seals(row):
                following = _next_quietly(rows)
                return bad(row.seq, row.id, _mismatch(keys, where, row, following, previous, start_head[0]))
            if row.prev_hash != previous:
                return bad(row.seq, row.id, f"{where} does not link to event {expected - 1}: an event was replaced")
            target = targets.get(row.seq)
            if target is not None and not hmac.compare_digest(row.hash, target[1]):
                name = target[0]
                return bad(row.seq, row.id, f"{where} differs from {name}: the trail was rewritten after it")
            checked, expected, previous = checked + 1, expected + 1, row.hash
    finally:
        rows.close()
    last = expected - 1
    for seq, (name, _) in sorted(targets.items()):
        if seq > last:
            return bad(
                last + 1,
                None,
                f"{_span(last + 1, seq)} cut off: the trail ends at event {last} but {name} records event {seq}",
            )
    return _check_end(session, checked, last, previous)


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
    head = _read_head(session)
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


def checkpoint(*, session: Session) -> Checkpoint:
    """The head of the chain now, to be kept somewhere the database's users cannot reach."""
    head = _read_head(session)
    if head is None:
        raise AuditTrailUnavailable("the audit head row is missing; run `patchwork db upgrade`")
    return Checkpoint(seq=head[0], hash=head[1], at=utcnow())


def checkpoint_to_json(point: Checkpoint) -> str:
    return json.dumps({"seq": point.seq, "hash": point.hash, "at": isoformat(point.at) if point.at else None})


def checkpoint_from_json(text: str) -> Checkpoint:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise MalformedCheckpoint(f"the checkpoint is not JSON ({error})") from error
    if not isinstance(data, dict):
        raise MalformedCheckpoint('the checkpoint must be a JSON object with "seq" and "hash"')
    seq, hash_, at = data.get("seq"), data.get("hash"), data.get("at")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise MalformedCheckpoint('the checkpoint\'s "seq" must be a whole number, 0 or more')
    if not isinstance(hash_, str) or not HEX64.match(hash_):
        raise MalformedCheckpoint('the checkpoint\'s "hash" must be 64 lowercase hexadecimal characters')
    moment: datetime | None = None
    if at is not None:
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise MalformedCheckpoint('the checkpoint\'s "at" must be an ISO 8601 date and time')
    return Checkpoint(seq=seq, hash=hash_, at=moment)


def list_events(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest events first, for a system admin; the reading is itself recorded in the trail."""
    if not actor.is_system_admin:
        raise NotFound()
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = select_models(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(limit)
    if network_id is not None:
        query = query.where(col(AuditEvent.network_id) == network_id)
    if actor_id is not None:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    if before_seq is not None:
        query = query.where(col(AuditEvent.seq) < before_seq)
    events = list(session.exec(query).all())
    filters = {"actor_id": actor_id, "action": action, "before_seq": before_seq, "limit": limit}
    record(
        session=session,
        key=key,
        action="audit.read",
        actor_id=actor.account_id,
        network_id=network_id,
        details={"filters": {k: v for k, v in filters.items() if v is not None}, "returned": len(events)},
    )
    return events


def events_for_network(
    *,
    session: Session,
    key: bytes,
    actor: policy.Actor,
    network_id: str,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """One network's trail, newest first, for a system admin; audited like any other reading."""
    return list_events(session=session, key=key, actor=actor, network_id=network_id, before_seq=before_seq, limit=limit)
