"""`patchwork audit verify` and `patchwork audit checkpoint`: what an operator runs to check the audit trail."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from patchwork.db import Database
from patchwork.services.audit import (
    AuditTrailUnavailable,
    Checkpoint,
    MalformedCheckpoint,
    audit_key,
    checkpoint,
    checkpoint_from_json,
    checkpoint_to_json,
    previous_audit_keys,
    verify,
)
from patchwork.settings import Settings

T = TypeVar("T")


def verify_command(settings: Settings, checkpoint_path: str | None) -> int:
    """0 when the trail is intact, 1 naming the first bad event, 2 when it cannot be checked at all."""
    point: Checkpoint | None = None
    if checkpoint_path is not None:
        try:
            point = checkpoint_from_json(Path(checkpoint_path).read_text())
        except OSError as error:
            return _fail(f"cannot read the checkpoint {checkpoint_path}: {error.strerror or error}")
        except MalformedCheckpoint as error:
            return _fail(f"{checkpoint_path} is not a valid checkpoint: {error}")
    key, previous = audit_key(settings), previous_audit_keys(settings)
    result = _with_session(
        settings, lambda session: verify(session=session, key=key, previous_keys=previous, checkpoint=point)
    )
    if isinstance(result, int):
        return result
    if result.ok:
        against = f", checkpoint event {point.seq} matches" if point is not None else ""
        print(f"Audit trail intact: {result.events_checked} events checked{against}.")
        return 0
    print(
        f"patchwork: audit trail broken: {result.problem} ({result.events_checked} events before it are intact)",
        file=sys.stderr,
    )
    return 1


def checkpoint_command(settings: Settings) -> int:
    """Print the chain's head as JSON, to be stored where the database's users cannot change it."""
    result = _with_session(settings, lambda session: checkpoint(session=session))
    if isinstance(result, int):
        return result
    print(checkpoint_to_json(result))
    return 0


def _with_session(settings: Settings, work: Callable[[Session], T]) -> T | int:
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            return work(session)
    except AuditTrailUnavailable as error:
        return _fail(str(error))
    except SQLAlchemyError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return _fail(f"cannot read the audit trail (is the database migrated?): {first_line}")
    finally:
        db.dispose()


def _fail(message: str) -> int:
    print(f"patchwork: {message}", file=sys.stderr)
    return 2
