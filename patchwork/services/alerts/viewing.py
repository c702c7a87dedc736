"""Viewing alerts: each person is shown an alert by the policy's rule judged at the moment of viewing, with a reason
that names and counts only what they may see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.errors import NotFound
from patchwork.models import Account, Organisation
from patchwork.models.alerts import Alert, AlertKind, AlertNote, AlertOutcome, AlertState
from patchwork.models.networks import Involvement, InvolvementStatus, Network
from patchwork.models.notes import CATEGORY_LABELS, Note, NoteKind
from patchwork.services.visibility import Standings, seen_across, viewer_in, visible

ALERT_EVENTS = ("alert.raised", "alert.updated")
OUTCOME_LABELS = {
    AlertOutcome.no_further_action: "No further action",
    AlertOutcome.discussed_with_network: "Discussed with the network",
    AlertOutcome.referred_to_social_care: "Referred to children's social care",
    AlertOutcome.other: "Other",
}
KIND_LABELS = {
    AlertKind.accumulation: "Concerns building up",
    AlertKind.urgent: "Urgent note",
    AlertKind.escalation: "Urgent note not acknowledged",
    AlertKind.no_lead: "No lead professional",
}


@dataclass(frozen=True)
class AlertView:
    """An alert as one person is shown it: the reason names and counts only what they may see."""

    alert: Alert
    reason: str
    note_ids: tuple[str, ...]
    may_acknowledge: bool
    may_resolve: bool
    outcome_text: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[AlertKind(self.alert.kind)]


def _signals(session: Session, network_id: str, *, where: Iterable[ColumnElement[bool]] = ()) -> list[policy.Signal]:
    rows = session.execute(
        sa_select(
            col(Note.id),
            col(Note.author_organisation_id),
            col(Note.level),
            col(Note.observed_on),
            col(Note.redacted_at),
        ).where(col(Note.network_id) == network_id, col(Note.kind) == NoteKind.practitioner, *where)
    ).all()
    return [
        policy.Signal(note_id=i, organisation_id=o, level=level, observed_on=on, redacted=redacted is not None)
        for i, o, level, on, redacted in rows
    ]


def _visible_signals(
    session: Session, viewer: policy.NoteViewer, network: Network, alert: Alert
) -> list[policy.Signal]:
    note_ids = select(AlertNote.note_id).where(AlertNote.alert_id == alert.id)
    return _signals(
        session,
        network.id,
        where=(col(Note.id).in_(note_ids), visible(viewer, history_rule=network.history_rule)),
    )


def shown_to_lead(
    session: Session, account: Account, network: Network, alert: Alert, thresholds: policy.AlertThresholds
) -> bool:
    viewer = viewer_in(session, account, network)
    signals = _visible_signals(session, viewer, network, alert) if viewer.is_lead else []
    return bool(policy.alert_shown_to_lead(viewer, kind=alert.kind, visible=signals, thresholds=thresholds))


def _lead_view(
    session: Session,
    keys: Keyring,
    account: Account,
    network: Network,
    alert: Alert,
    thresholds: policy.AlertThresholds,
) -> AlertView | None:
    viewer = viewer_in(session, account, network)
    signals = _visible_signals(session, viewer, network, alert) if viewer.is_lead else []
    shown = policy.alert_shown_to_lead(viewer, kind=alert.kind, visible=signals, thresholds=thresholds)
    if not shown:
        return None
    reason = _reason_for_lead(session, alert, shown, thresholds)
    return _view(keys, alert, reason, tuple(s.note_id for s in shown), as_lead=True, as_admin=False)


def _admin_view(session: Session, keys: Keyring, account: Account, network: Network, alert: Alert) -> AlertView | None:
    own = (
        [
            str(name)
            for name in session.exec(
                select(Account.name)
                .join(Involvement, col(Involvement.account_id) == Account.id)
                .where(
                    Involvement.network_id == network.id,
                    Involvement.status == InvolvementStatus.active,
                    Involvement.organisation_id == account.organisation_id,
                )
                .order_by(col(Account.name))
            ).all()
        ]
        if account.organisation_id
        else []
    )
    actor = policy.Actor(account.id, account.kind, account.organisation_id, account.is_org_admin)
    if not policy.see_alert_as_admin(actor, kind=alert.kind, own_members=len(own)):
        return None
    members = ", ".join(own)
    if alert.kind == AlertKind.escalation:
        note = session.get(Note, alert.note_id) if alert.note_id else None
        waited = _duration(alert.raised_at - note.created_at if note else timedelta(0))
        reason = (
            f"A network that members of your organisation belong to ({members}) has an urgent note that waited "
            f"{waited} without a lead professional's acknowledgement."
        )
    else:
        reason = (
            f"A network that members of your organisation belong to ({members}) has concerns building up and no "
            "lead professional."
        )
    return _view(keys, alert, reason, (), as_lead=False, as_admin=True)


def _view(
    keys: Keyring, alert: Alert, reason: str, note_ids: tuple[str, ...], *, as_lead: bool, as_admin: bool
) -> AlertView:
    def may(resolving: bool) -> bool:
        return bool(
            policy.act_on_alert(
                state=alert.state, as_lead=as_lead, as_admin=as_admin, kind=alert.kind, resolving=resolving
            )
        )

    text = None
    if alert.outcome_text_sealed:
        text = keys.cipher.decrypt(alert.outcome_text_sealed, context=f"alert-outcome:{alert.id}")
    return AlertView(alert, reason, note_ids, may(False), may(True), text)


def _reason_for_lead(
    session: Session, alert: Alert, shown: tuple[policy.Signal, ...], thresholds: policy.AlertThresholds
) -> str:
    notes = {n.id: n for n in session.exec(select(Note).where(col(Note.id).in_([s.note_id for s in shown]))).all()}
    names = _organisation_names(session, {n.author_organisation_id for n in notes.values() if n.author_organisation_id})
    return _reason(alert, shown, thresholds, notes, names)


def _organisation_names(session: Session, ids: set[str]) -> dict[str, str]:
    return dict(session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))).all())


def _reason(
    alert: Alert,
    shown: tuple[policy.Signal, ...],
    thresholds: policy.AlertThresholds,
    notes: Mapping[str, Any],
    names: dict[str, str],
) -> str:
    """The plain-language reason, from the notes shown (their rows in `notes`) and organisation names."""
    if alert.kind == AlertKind.accumulation:
        ids = sorted({s.organisation_id for s in shown if s.organisation_id})
        listed = sorted(names.get(i, "an organisation") for i in ids)
        noun = {"observation": "notes", "concern": "concerns", "urgent": "urgent notes"}[thresholds.min_level]
        return (
            f"{len(shown)} {noun} from {len(ids)} organisation{'s' if len(ids) != 1 else ''} in "
            f"{thresholds.window_days} days ({', '.join(listed)})"
        )
    note = notes[shown[0].note_id]
    about = f"{CATEGORY_LABELS.get(note.category, note.category)}, observed {note.observed_on.strftime('%-d %B %Y')}"
    source = f" from {names[note.author_organisation_id]}" if note.author_organisation_id in names else ""
    if alert.kind == AlertKind.escalation:
        waited = _duration(alert.raised_at - note.created_at)
        return f"An urgent note{source} ({about}) waited {waited} without a lead professional's acknowledgement"
    return f"An urgent note{source} ({about})"


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []) + (
        [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes or not hours else []
    )
    return " ".join(parts)


def shown_to(
    *, session: Session, keys: Keyring, account: Account, alert: Alert, thresholds: policy.AlertThresholds
) -> AlertView | None:
    """The alert as this person is shown it now, or None: then it answers exactly as a missing one would. The
    policy decides both ways in (alert_shown_to_lead, see_alert_as_admin); nothing here looks at the account."""
    network = session.get(Network, alert.network_id)
    if network is None:
        return None
    as_lead = _lead_view(session, keys, account, network, alert, thresholds)
    if as_lead is not None:
        return as_lead
    return _admin_view(session, keys, account, network, alert)


def for_person(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    thresholds: policy.AlertThresholds,
    state: str | None = None,
    network_id: str | None = None,
) -> list[AlertView]:
    """Every alert this person is shown, newest first (`state` and `network_id` narrow it). The query only
    gathers candidates (networks they lead; their organisation's, for an admin); shown_to judges each."""
    mine = select(Involvement.network_id).where(
        Involvement.account_id == account.id,
        Involvement.status == InvolvementStatus.active,
        col(Involvement.is_lead).is_(True),
    )
    reach: ColumnElement[bool] = col(Alert.network_id).in_(mine)
    if account.is_org_admin and account.organisation_id:
        colleagues = select(Involvement.network_id).where(
            Involvement.organisation_id == account.organisation_id, Involvement.status == InvolvementStatus.active
        )
        reach = or_(reach, col(Alert.network_id).in_(colleagues) & col(Alert.kind).in_(policy.ADMIN_ALERTS))
    query = select(Alert).where(reach)
    if state:
        query = query.where(Alert.state == state)
    if network_id:
        query = query.where(Alert.network_id == network_id)
    views = []
    for alert in session.exec(query.order_by(col(Alert.raised_at).desc(), col(Alert.id)).limit(500)).all():
        view = shown_to(session=session, keys=keys, account=account, alert=alert, thresholds=thresholds)
        if view is not None:
            views.append(view)
    return views


def alert_for(
    session: Session, keys: Keyring, account: Account, alert_id: str, thresholds: policy.AlertThresholds
) -> AlertView:
    alert = session.get(Alert, alert_id) if len(alert_id) <= 36 else None
    view = shown_to(session=session, keys=keys, account=account, alert=alert, thresholds=thresholds) if alert else None
    if view is None:
        raise NotFound("No such alert")
    return view


def get(
    *, session: Session, keys: Keyring, account: Account, alert_id: str, thresholds: policy.AlertThresholds
) -> AlertView:
    return alert_for(session, keys, account, alert_id, thresholds)


def open_for_lead(
    *,
    session: Session,
    keys: Keyring,
    viewers: dict[str, tuple[Network, policy.NoteViewer]],
    thresholds: policy.AlertThresholds,
) -> list[AlertView]:
    """The open and acknowledged alerts a lead is shown across the networks they lead (`viewers`: their
    standing in each), newest first: the same rule as `shown_to`, in a fixed number of queries."""
    if not viewers:
        return []
    open_alerts = list(
        session.exec(select(Alert).where(*_open_in(viewers)).order_by(col(Alert.raised_at).desc(), col(Alert.id))).all()
    )
    if not open_alerts:
        return []
    held, notes = _held_notes(session, viewers)
    names = _organisation_names(session, {n.author_organisation_id for n in notes.values() if n.author_organisation_id})
    views = []
    for alert in open_alerts:
        viewer = viewers[alert.network_id][1]
        signals = [
            policy.Signal(n.id, n.author_organisation_id, n.level, n.observed_on, n.redacted_at is not None)
            for n in (notes[i] for i in held.get(alert.id, ()) if i in notes)
        ]
        shown = policy.alert_shown_to_lead(viewer, kind=alert.kind, visible=signals, thresholds=thresholds)
        if shown:
            reason = _reason(alert, shown, thresholds, notes, names)
            views.append(_view(keys, alert, reason, tuple(s.note_id for s in shown), as_lead=True, as_admin=False))
    return views


def _open_in(viewers: dict[str, tuple[Network, policy.NoteViewer]]) -> tuple[ColumnElement[bool], ...]:
    return col(Alert.network_id).in_(list(viewers)), col(Alert.state) != AlertState.resolved


def _held_notes(
    session: Session, viewers: dict[str, tuple[Network, policy.NoteViewer]]
) -> tuple[dict[str, set[str]], dict[str, Any]]:
    """The notes each open alert holds that the lead may see (alert id -> note ids), and those notes' rows."""
    account_id = next(iter(viewers.values()))[1].account_id
    seen = seen_across(Standings(account_id, viewers), viewers)
    open_ids = select(Alert.id).where(*_open_in(viewers)).scalar_subquery()
    held: dict[str, set[str]] = {}
    notes: dict[str, Any] = {}
    for row in session.execute(
        sa_select(
            col(AlertNote.alert_id),
            col(Note.id),
            col(Note.author_organisation_id),
            col(Note.level),
            col(Note.observed_on),
            col(Note.redacted_at),
            col(Note.category),
            col(Note.created_at),
        )
        .join(Note, col(Note.id) == col(AlertNote.note_id))
        .where(col(AlertNote.alert_id).in_(open_ids), col(Note.kind) == NoteKind.practitioner, seen)
    ).all():
        held.setdefault(row.alert_id, set()).add(row.id)
        notes[row.id] = row
    return held, notes


def for_admin(
    *, session: Session, keys: Keyring, account: Account, thresholds: policy.AlertThresholds
) -> list[AlertView]:
    """The unresolved escalation and no lead alerts an organisation admin is shown, newest first."""
    return [
        view
        for view in for_person(session=session, keys=keys, account=account, thresholds=thresholds)
        if view.alert.kind in policy.ADMIN_ALERTS and view.alert.state != AlertState.resolved
    ]
