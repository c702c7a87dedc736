"""Appending to the audit trail: the chain's keys, an event's canonical hash, and recording one event inside the
caller's transaction."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from patchwork import last_writes
from patchwork.clock import utcnow
from patchwork.crypto import key_id
from patchwork.models import AuditEvent, AuditHead, new_id
from patchwork.models.audit import HEAD_ID
from patchwork.settings import ConfigurationError, Settings
from patchwork.statements import Statement

HKDF_INFO = b"patchwork-audit-chain"
HASH_FORMAT = "patchwork-audit-v1"
ACTION_PATTERN = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
# A guard against the obvious mistakes; callers remain responsible for keeping details free of personal data.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"body", "text", "given_name", "family_name", "known_as", "date_of_birth", "nhs_number", "postcode", "child"}
)
MAX_DETAIL_STRING = 200
MAX_DETAILS_CHARS = 1000


class AuditTrailUnavailable(RuntimeError):
    """The head row is missing or moved under us: the trail cannot be appended to safely."""


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
    return hash_fields(key, seq, id, at, actor_id, action, network_id, target_type, target_id, details, prev_hash)


_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def hash_fields(key: bytes, seq: int, id_: str, at: datetime, *rest: str | None) -> str:
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


@dataclass
class Recorded:
    """An event as recorded: its id, action and details at once; its place in the chain (sequence number, time,
    hashes) once the transaction that records it commits (see patchwork.last_writes)."""

    id: str
    action: str
    details: str
    seq: int = 0
    at: datetime | None = None
    prev_hash: str = ""
    hash: str = ""


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
# Compiled once and run on the cursor: an append is on the path of every change (see patchwork.statements).
_INSERT_EVENT = Statement(insert(_EVENTS))
_MOVE_HEAD = Statement(
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.seq == bindparam("head_seq"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_LOCK_HEAD_SQLITE = Statement(
    # SQLite has no row locks: a write takes the database's write lock (waiting for busy_timeout) before the
    # read, so no two transactions can read the same head.
    update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=_HEAD.c.seq).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_LOCK_HEAD = Statement(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID).with_for_update())
_EVENT_COLUMNS = tuple(column.key for column in _EVENTS.columns)
_MOVED = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.seq == bindparam("head_seq"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
    .returning(_HEAD.c.seq)
    .cte("moved")
)
# PostgreSQL: the head moved and the event written in one statement (no head moved, no event), a round trip fewer.
_APPEND_POSTGRESQL = Statement(
    insert(_EVENTS)
    .from_select(
        list(_EVENT_COLUMNS),
        select(*(bindparam(key, type_=_EVENTS.c[key].type) for key in _EVENT_COLUMNS)).select_from(_MOVED),
    )
    .add_cte(_MOVED)
)


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
    """Append one event inside the caller's transaction, so that a change and its audit commit together. It is
    checked now and chained when the transaction commits, so the chain's head is locked only for the commit."""
    if len(action) > 64 or not ACTION_PATTERN.match(action):
        raise ValueError(f"audit action {action!r} is not a dotted lowercase name of at most 64 characters")
    recorded = Recorded(new_id(), action, details_json(details))
    fields = {"actor_id": actor_id, "network_id": network_id, "target_type": target_type, "target_id": target_id}
    last_writes.defer(session, last_writes.AUDIT_TRAIL, (key, recorded, fields))
    return recorded


@last_writes.writer(last_writes.AUDIT_TRAIL, tables=(_EVENTS.name, _HEAD.name))
def _append(session: OrmSession, queued: list[tuple[bytes, Recorded, dict[str, str | None]]]) -> None:
    """Chain this unit of work's events after the head, in the order recorded, and move the head past them.
    Written with plain SQL statements: every change others see comes this way, so it is kept cheap."""
    connection = session.connection()
    locked = session.info.pop(last_writes.AUDIT_HEAD_READ, None)
    head_seq, head_hash = locked if locked is not None else _lock_head(connection)
    first_seq, events = head_seq, []
    for key, recorded, fields in queued:
        seq, at = head_seq + 1, utcnow()
        event_hash = hash_fields(  # the key id is not hashed: it names the key
            key,
            seq,
            recorded.id,
            at,
            fields["actor_id"],
            recorded.action,
            fields["network_id"],
            fields["target_type"],
            fields["target_id"],
            recorded.details,
            head_hash,
        )
        events.append(
            {
                "id": recorded.id,
                "seq": seq,
                "at": at,
                **fields,
                "action": recorded.action,
                "details": recorded.details,
                "prev_hash": head_hash,
                "hash": event_hash,
                "key_id": audit_key_id(key),
            }
        )
        recorded.seq, recorded.at, recorded.prev_hash, recorded.hash = seq, at, head_hash, event_hash
        head_seq, head_hash = seq, event_hash
    head = {"head_seq": first_seq, "new_seq": head_seq, "new_hash": head_hash}
    if connection.dialect.name == "postgresql" and len(events) == 1:
        moved = _APPEND_POSTGRESQL.run(connection, events[0] | head)
    else:
        _INSERT_EVENT.run_many(connection, events)
        moved = _MOVE_HEAD.run(connection, head)
    if moved != 1:
        raise AuditTrailUnavailable("the audit head moved while it was locked; the event was not recorded")


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Take the head row's lock for the rest of the transaction and read it."""
    rows = (_LOCK_HEAD_SQLITE if connection.dialect.name == "sqlite" else _LOCK_HEAD).rows(connection)
    if not rows:
        raise AuditTrailUnavailable("the audit head row is missing; run `patchwork db upgrade`")
    seq, head_hash = rows[0]
    return int(seq), str(head_hash)


def read_head(session: Session) -> tuple[int, str] | None:
    query = select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == HEAD_ID)
    row = session.connection().execute(query).first()
    return None if row is None else (int(row.seq), str(row.hash))
