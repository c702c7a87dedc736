"""Alerts: raised inside the transaction that changes a note (and by the escalation schedule), shown to each
person by the policy's rule judged at the moment of viewing, acknowledged and resolved with an outcome."""

from __future__ import annotations

from patchwork import policy
from patchwork.services.alerts.acting import acknowledge, move, resolve
from patchwork.services.alerts.raising import SYSTEM, escalate_overdue, evaluate, overdue_urgent_notes
from patchwork.services.alerts.viewing import (
    ALERT_EVENTS,
    KIND_LABELS,
    OUTCOME_LABELS,
    AlertView,
    for_admin,
    for_person,
    get,
    open_for_lead,
    shown_to,
)

__all__ = [
    "ALERT_EVENTS",
    "KIND_LABELS",
    "OUTCOME_LABELS",
    "SYSTEM",
    "AlertView",
    "acknowledge",
    "escalate_overdue",
    "evaluate",
    "for_admin",
    "for_person",
    "get",
    "move",
    "open_for_lead",
    "overdue_urgent_notes",
    "policy",
    "resolve",
    "shown_to",
]
