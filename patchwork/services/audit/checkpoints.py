"""Checkpoints: the head of the chain exported somewhere the database's users cannot reach, in the JSON that
`patchwork audit checkpoint` prints; a later `verify` against one catches a trail cut short and rewound."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from patchwork.clock import isoformat, utcnow
from patchwork.services.audit.chain import AuditTrailUnavailable, read_head

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class MalformedCheckpoint(ValueError):
    """A checkpoint file that is not the JSON `patchwork audit checkpoint` prints."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime | None = None


def checkpoint(*, session: Session) -> Checkpoint:
    """The head of the chain now, to be kept somewhere the database's users cannot reach."""
    head = read_head(session)
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
