"""Key rotation: re-encrypt everything sealed under an older data key, in small batches, while the app runs.

The running app holds the new key as current and the old ones as previous, so it reads both while this works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.models import Account, FamilyInvitation, SsoAttempt, SsoProvider
from patchwork.models.networks import Child, Involvement
from patchwork.models.notes import FamilyMembership, HistoryOpening, Note, NoteReply, NoteRevision
from patchwork.services import children, sealed_facts

BATCH = 200

# table, the sealed columns, and the encryption context of each for a row id
SEALED: list[tuple[type, tuple[tuple[str, Callable[[str], str]], ...]]] = [
    (
        Note,
        (
            ("body_sealed", lambda i: f"note:{i}"),
            ("basis_sealed", lambda i: f"basis:{i}"),
            ("redaction_sealed", lambda i: f"redaction:{i}"),
        ),
    ),
    (NoteRevision, (("body_sealed", lambda i: f"revision:{i}"),)),
    (NoteReply, (("body_sealed", lambda i: f"reply:{i}"),)),
    (HistoryOpening, (("reason_sealed", lambda i: f"history-opening:{i}"),)),
    (Account, (("totp_secret", lambda i: f"totp:{i}"),)),
    (SsoProvider, (("client_secret_sealed", lambda i: f"sso-secret:{i}"),)),
    (SsoAttempt, (("code_verifier_sealed", lambda i: f"sso-verifier:{i}"),)),
    (
        Involvement,
        tuple(
            (f"{name}_sealed", lambda i, name=name: sealed_facts.involvement_context(name, i))  # type: ignore[misc]
            for name in ("role_label", "reason", "contact")
        ),
    ),
    (FamilyMembership, (("relationship_sealed", sealed_facts.membership_context),)),
    (
        FamilyInvitation,
        tuple(
            (f"{name}_sealed", lambda i, name=name: sealed_facts.invitation_context(name, i))  # type: ignore[misc]
            for name in ("name", "relationship", "email")
        ),
    ),
]


def _reindex_invitation(keys: Keyring, invitation: FamilyInvitation) -> None:
    email = sealed_facts.open_invitation(keys.cipher, invitation).email
    invitation.email_index = sealed_facts.email_index(keys.index, invitation.network_id, email)


# Rows whose keyed digests are made with a key derived from the data key: made again when the row is resealed.
REINDEX: dict[type, Callable[[Keyring, Any], None]] = {FamilyInvitation: _reindex_invitation}


@dataclass
class RotationReport:
    current_key: str
    resealed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


def _stale(value: str | None, current: str) -> bool:
    return value is not None and not value.startswith(f"v1:{current}:")


def rotate(*, db: Database, keys: Keyring, batch: int = BATCH) -> RotationReport:
    """Moves every sealed value to the current key; safe to stop and run again."""
    current = keys.cipher.current_id
    report = RotationReport(current_key=current)
    for model, columns in SEALED:
        name = model.__tablename__  # type: ignore[attr-defined]
        report.resealed[name] = _rotate_table(db, keys, model, columns, current, batch)
    report.resealed["child"] = _rotate_children(db, keys, current, batch)
    return report


def _rotate_table(
    db: Database,
    keys: Keyring,
    model: type,
    columns: tuple[tuple[str, Callable[[str], str]], ...],
    current: str,
    batch: int,
) -> int:
    done = 0
    after = ""
    while True:
        with db.transaction() as session:
            rows: list[Any] = list(
                session.exec(
                    select(model).where(col(model.id) > after).order_by(col(model.id)).limit(batch)  # type: ignore[attr-defined]
                ).all()
            )
            if not rows:
                return done
            for row in rows:
                changed = False
                for column, context in columns:
                    value = getattr(row, column)
                    if _stale(value, current):
                        plain = keys.cipher.decrypt(value, context=context(row.id))
                        setattr(row, column, keys.cipher.encrypt(plain, context=context(row.id)))
                        changed = True
                if changed:
                    reindex = REINDEX.get(model)
                    if reindex is not None:
                        reindex(keys, row)
                    session.add(row)
                    done += 1
            after = rows[-1].id


def _rotate_children(db: Database, keys: Keyring, current: str, batch: int) -> int:
    done = 0
    after = ""
    while True:
        with db.transaction() as session:
            rows = list(
                session.exec(select(Child).where(col(Child.id) > after).order_by(col(Child.id)).limit(batch)).all()
            )
            if not rows:
                return done
            for child in rows:
                if _stale(child.sealed_identity, current):
                    children.reseal(session=session, cipher=keys.cipher, index=keys.index, child=child)
                    done += 1
            after = rows[-1].id


def key_usage(*, session: Session) -> dict[str, int]:
    """How many sealed values each key id holds, to tell when an old key can be retired."""
    usage: dict[str, int] = {}
    for model, columns in SEALED:
        for column, _ in columns:
            for value in session.exec(select(getattr(model, column)).where(getattr(model, column).is_not(None))).all():
                key_id = str(value).split(":", 2)[1] if str(value).count(":") >= 2 else "unknown"
                usage[key_id] = usage.get(key_id, 0) + 1
    for value in session.exec(select(Child.sealed_identity)).all():
        key_id = value.split(":", 2)[1] if value.count(":") >= 2 else "unknown"
        usage[key_id] = usage.get(key_id, 0) + 1
    return usage
