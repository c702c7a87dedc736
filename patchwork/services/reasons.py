"""Why someone closed a network, ended another's involvement or deactivated an account: asked for on the
confirmation page, kept in that action's audit event, and read back from the event (so what is shown is what the
tamper-evident trail holds, and nothing else stores it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from patchwork import limits
from patchwork.models import Account
from patchwork.models.audit import AuditEvent
from patchwork.services.validation import Fields

FIELD = "reason"


@dataclass(frozen=True)
class Done:
    """Who did it, when, and the reason they gave (None when none was asked for, or before reasons were kept)."""

    at: datetime
    by: str | None
    reason: str | None


def clean(value: object, *, required: bool, asking: str) -> str | None:
    """The reason as it will be kept, or Invalid naming the field. `asking` ends "Enter why you are ...".
    Not required and left out (the API's optional reason) is None."""
    fields = Fields()
    text = fields.text(FIELD, value, label="The reason", max_length=limits.ACTION_REASON, required=False)
    if required and not text and FIELD not in fields.errors:
        fields.fail(FIELD, f"Enter why you are {asking}")
    fields.check()
    return text or None


def details(reason: str | None) -> dict[str, str] | None:
    """The audit event's details for a reason (none at all when no reason was given)."""
    return {FIELD: reason} if reason else None


def recorded(session: Session, event_ids: Iterable[str | None]) -> dict[str, Done]:
    """What each of these audit events says was done, by their id."""
    wanted = sorted({event_id for event_id in event_ids if event_id})
    if not wanted:
        return {}
    rows = session.exec(
        select(AuditEvent, Account.name)
        .join(Account, col(Account.id) == AuditEvent.actor_id, isouter=True)
        .where(col(AuditEvent.id).in_(wanted))
    ).all()
    return {event.id: Done(at=event.at, by=name, reason=_reason(event.details)) for event, name in rows}


def _reason(text: str) -> str | None:
    try:
        found = json.loads(text).get(FIELD)
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None
