"""Alerts: when weak signals add up, who is shown an alert, and who may act on it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from patchwork.policy.accounts import Actor
from patchwork.policy.decision import Decision, allow, deny
from patchwork.policy.notes import NoteViewer

# Alerts. Weak signals add up: an alert is raised when notes accumulate, and judged again for each recipient at the
# moment of viewing, over the notes that recipient may see, like a note. services/alerts.py stores and evaluates them.

LEVELS = ("observation", "concern", "urgent")


@dataclass(frozen=True)
class AlertThresholds:
    min_notes: int = 3
    min_organisations: int = 2
    window_days: int = 30
    min_level: str = "concern"


@dataclass(frozen=True)
class Signal:
    """One note as the alert rules count it: its current level (after revisions), whether it is redacted, the date
    the thing was observed, and the organisation it came from (None for family voice, which is never a signal)."""

    note_id: str
    organisation_id: str | None
    level: str
    observed_on: date
    redacted: bool = False


def counts_as_signal(signal: Signal, thresholds: AlertThresholds) -> bool:
    return (
        not signal.redacted
        and signal.organisation_id is not None
        and signal.level in LEVELS
        and LEVELS.index(signal.level) >= LEVELS.index(thresholds.min_level)
    )


def accumulation(signals: Iterable[Signal], thresholds: AlertThresholds) -> tuple[Signal, ...]:
    """The notes of the latest window of `window_days` days (by date observed: a note on day 1 and one on day 30 are
    within 30 days; day 31 is not) that holds `min_notes` or more signals from `min_organisations` or more
    organisations; empty when no window does."""
    counted = sorted((s for s in signals if counts_as_signal(s, thresholds)), key=lambda s: (s.observed_on, s.note_id))
    days = [s.observed_on for s in counted]
    span = timedelta(days=thresholds.window_days - 1)
    for end in reversed(range(thresholds.min_notes - 1, len(counted))):
        start = bisect_left(days, days[end] - span, 0, end + 1)
        if end + 1 - start >= thresholds.min_notes:
            window = tuple(counted[start : end + 1])
            if len({s.organisation_id for s in window}) >= thresholds.min_organisations:
                return window
    return ()


def urgent_signals(signals: Iterable[Signal]) -> tuple[Signal, ...]:
    return tuple(s for s in signals if not s.redacted and s.organisation_id is not None and s.level == "urgent")


ADMIN_ALERTS = ("escalation", "no_lead")  # the two ways an organisation admin learns a network needs attention


def alert_shown_to_lead(
    viewer: NoteViewer, *, kind: str, visible: Iterable[Signal], thresholds: AlertThresholds
) -> tuple[Signal, ...]:
    """The notes a lead is shown an alert with, judged now over the alert's notes that this lead may see (the
    caller selects those with visibility.visible, the SQL form of see_note); empty means the alert is not shown:
    a lead who may not see enough of its notes learns nothing of it. No lead alert is for organisation admins."""
    if viewer.kind != "practitioner" or not viewer.member or not viewer.is_lead:
        return ()
    if kind == "accumulation":
        return accumulation(visible, thresholds)
    if kind in ("urgent", "escalation"):
        return urgent_signals(visible)
    return ()


def see_alert_as_admin(actor: Actor, *, kind: str, own_members: int) -> Decision:
    """An organisation admin is shown an escalation or no lead alert of a network that some of their own
    organisation's practitioners belong to, and only that: which of them, and how long an urgent note waited."""
    if kind not in ADMIN_ALERTS:
        return deny("only escalation and no lead alerts reach organisation admins")
    if actor.kind != "practitioner" or not actor.is_org_admin or own_members == 0:
        return deny("only admins of an organisation with members in the network")
    return allow("an organisation admin learns that a network with their practitioners needs attention")


def act_on_alert(*, state: str, as_lead: bool, as_admin: bool, kind: str, resolving: bool) -> Decision:
    """Who may acknowledge or resolve an alert they are shown: a lead, any of theirs; an organisation admin, a no
    lead alert, and acknowledge (not resolve) an escalation, whose outcome is the lead's to record."""
    if state == "resolved":
        return deny("the alert has been resolved")
    if as_lead and kind != "no_lead":
        return allow("leads acknowledge and resolve their network's alerts")
    if as_admin and kind == "no_lead":
        return allow("organisation admins acknowledge and resolve a no lead alert")
    if as_admin and kind == "escalation" and not resolving:
        return allow("organisation admins acknowledge an escalation")
    return deny("the outcome of this alert is for a lead professional to record")
