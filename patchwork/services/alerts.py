"""Alerts: raised inside the transaction that changes a note (and by the escalation schedule), shown to each
person by the policy's rule judged at the moment of viewing, acknowledged and resolved with an outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, bindparam, exists, insert, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import ring_account
from patchwork.errors import Conflict, Forbidden, NotFound
from patchwork.models import Account, Organisation
from patchwork.models.alerts import Alert, AlertKind, AlertNote, AlertOutcome, AlertState
from patchwork.models.networks import Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import CATEGORY_LABELS, Acknowledgement, Note, NoteKind
from patchwork.services import changes
from patchwork.services.validation import Fields
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
SYSTEM = None  # the schedule raises escalations: no person's act


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


# Raising


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


@dataclass(frozen=True)
class _State:
    """What evaluation needs to know of a network's alerts, read in one query."""

    has_lead: bool
    keys: dict[str, str]  # dedupe key -> alert id, of the alerts that hold one
    held: frozenset[str]  # the notes of its open accumulation alert


# Built once: every post, revision and redaction asks these two.
_COUNTED_SIGNALS = sa_select(
    col(Note.id), col(Note.author_organisation_id), col(Note.level), col(Note.observed_on), col(Note.redacted_at)
).where(
    col(Note.network_id) == bindparam("network_id"),
    col(Note.kind) == NoteKind.practitioner,
    col(Note.redacted_at).is_(None),
    col(Note.level).in_(bindparam("levels", expanding=True)),
    col(Note.author_organisation_id).is_not(None),
)
_STATE = (
    sa_select(
        exists()
        .where(
            col(Involvement.network_id) == bindparam("network_id"),
            col(Involvement.status) == InvolvementStatus.active,
            col(Involvement.is_lead).is_(True),
        )
        .label("has_lead"),
        col(Alert.dedupe_key),
        col(Alert.id),
        col(AlertNote.note_id),
    )
    .select_from(Network)
    .outerjoin(Alert, and_(col(Alert.network_id) == col(Network.id), col(Alert.dedupe_key).is_not(None)))
    .outerjoin(AlertNote, and_(col(AlertNote.alert_id) == col(Alert.id), col(Alert.kind) == AlertKind.accumulation))
    .where(col(Network.id) == bindparam("network_id"))
)


def _counts(level: str, thresholds: policy.AlertThresholds) -> bool:
    return level in policy.LEVELS and policy.LEVELS.index(level) >= policy.LEVELS.index(thresholds.min_level)


def _counted_signals(session: Session, network_id: str, thresholds: policy.AlertThresholds) -> list[policy.Signal]:
    """The network's notes that may count towards an alert: not redacted, from an organisation, at the threshold's
    level or above (urgent is always among them)."""
    levels = list(policy.LEVELS[policy.LEVELS.index(thresholds.min_level) :])
    rows = session.connection().execute(_COUNTED_SIGNALS, {"network_id": network_id, "levels": levels}).all()
    return [policy.Signal(i, o, level, on) for i, o, level, on, _ in rows]


def _state(session: Session, network_id: str) -> _State:
    rows = session.connection().execute(_STATE, {"network_id": network_id}).all()
    return _State(
        has_lead=bool(rows and rows[0].has_lead),
        keys={row.dedupe_key: row.id for row in rows if row.dedupe_key},
        held=frozenset(row.note_id for row in rows if row.note_id),
    )


def evaluate(
    *,
    session: Session,
    keys: Keyring,
    network_id: str,
    thresholds: policy.AlertThresholds,
    actor_id: str | None,
    network: Network | None = None,
    changed_levels: tuple[str, ...] = (),
) -> None:
    """Run inside the transaction that posts, revises or redacts a note (the changed note's level before
    and after in `changed_levels`; `network` when the caller has it loaded): raise what the notes now call for,
    and add new notes of the window to an open accumulation alert. Raising is an insert that does nothing when
    the alert exists (see Alert.dedupe_key), so it happens exactly once whoever gets there first. Two queries
    when nothing is to be raised; none for a note below the threshold before and after."""
    if changed_levels and not any(_counts(level, thresholds) for level in changed_levels):
        return  # a note below the threshold, before and after the change: nothing it does can raise or change one
    network = network or session.get(Network, network_id)
    if network is None or network.status == NetworkStatus.merged:
        return
    signals = _counted_signals(session, network.id, thresholds)
    window = policy.accumulation(signals, thresholds)
    urgent = policy.urgent_signals(signals)
    state = _state(session, network.id)
    _accumulation(session, keys, network, window, actor_id, thresholds, state)
    for signal in urgent:
        key = f"urgent:{signal.note_id}"
        if key not in state.keys:
            _raise(session, keys, network, AlertKind.urgent, key, actor_id, thresholds, signal)
    no_lead = f"no_lead:{network.id}"
    if (window or urgent) and not state.has_lead and no_lead not in state.keys:
        _raise(session, keys, network, AlertKind.no_lead, no_lead, actor_id, thresholds)


def _accumulation(
    session: Session,
    keys: Keyring,
    network: Network,
    window: tuple[policy.Signal, ...],
    actor_id: str | None,
    thresholds: policy.AlertThresholds,
    state: _State,
) -> None:
    key = f"accumulation:{network.id}"
    current_id = state.keys.get(key)
    if current_id is not None:
        # The open alert takes in the window's new notes. Its life (raised, acknowledged, resolved) is what is
        # audited and evented; a note joining it or leaving the count reaches open pages by the note's own event.
        for note_id in {s.note_id for s in window} - state.held:
            session.add(AlertNote(alert_id=current_id, note_id=note_id))
        return
    if not window or not _new_since_last_resolution(session, network.id, window):
        return
    _raise(session, keys, network, AlertKind.accumulation, key, actor_id, thresholds, notes=window)


def _new_since_last_resolution(session: Session, network_id: str, window: tuple[policy.Signal, ...]) -> bool:
    """A resolved accumulation alert is not raised again by the same notes: only one posted after it was resolved."""
    resolved = session.exec(
        select(Alert.resolved_at)
        .where(
            Alert.network_id == network_id, Alert.kind == AlertKind.accumulation, col(Alert.resolved_at).is_not(None)
        )
        .order_by(col(Alert.resolved_at).desc())
    ).first()
    if resolved is None:
        return True
    return bool(
        session.exec(
            select(Note.id).where(col(Note.id).in_([s.note_id for s in window]), col(Note.created_at) > resolved)
        ).first()
    )


def _raise(
    session: Session,
    keys: Keyring,
    network: Network,
    kind: AlertKind,
    key: str,
    actor_id: str | None,
    thresholds: policy.AlertThresholds,
    signal: policy.Signal | None = None,
    notes: tuple[policy.Signal, ...] = (),
    at: datetime | None = None,
) -> Alert | None:
    """Insert the alert unless one with its key exists; the new alert, or None."""
    row = Alert(network_id=network.id, kind=kind, dedupe_key=key, note_id=signal.note_id if signal else None)
    if at is not None:
        row.raised_at = row.updated_at = at
    values = {name: getattr(row, name) for name in ("id", "network_id", "kind", "state", "dedupe_key", "note_id")}
    values |= {"raised_at": row.raised_at, "updated_at": row.updated_at}
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(Alert).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(Alert).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # pragma: no cover - the two databases Patchwork runs on
        statement = insert(Alert).values(**values)
    if session.connection().execute(statement.returning(col(Alert.id))).scalar_one_or_none() is None:
        return None  # it exists: raised by an earlier note, or by another process a moment ago
    alert = session.get(Alert, row.id)
    assert alert is not None
    for signal_ in notes or ((signal,) if signal else ()):
        session.add(AlertNote(alert_id=alert.id, note_id=signal_.note_id))
    session.flush()
    _tell(session, keys, network, alert, "alert.raised", actor_id, thresholds)
    return alert


def _tell(
    session: Session,
    keys: Keyring,
    network: Network,
    alert: Alert,
    event: str,
    actor_id: str | None,
    thresholds: policy.AlertThresholds,
) -> None:
    """Audit the change and put it in the network's events for the leads who are shown the alert now."""
    alert.updated_at = utcnow()
    session.add(alert)
    session.flush()
    shown_to = sorted(
        account.id
        for account in _leads(session, network.id)
        if _shown_to_lead(session, account, network, alert, thresholds)
    )
    if alert.kind in policy.ADMIN_ALERTS:
        for admin_id in _admins_of_members(session, network.id):
            ring_account(session, admin_id)  # their home pages follow no network of theirs: ring them instead
    changes.record(
        session=session,
        keys=keys,
        action=event,
        event=event,
        actor_id=actor_id,
        network_id=network.id,
        target_type="alert",
        target_id=alert.id,
        details={"kind": alert.kind, "state": alert.state},
        alert_id=alert.id,
        _to=",".join(shown_to),
    )


def _admins_of_members(session: Session, network_id: str) -> list[str]:
    organisations = select(Involvement.organisation_id).where(
        Involvement.network_id == network_id, Involvement.status == InvolvementStatus.active
    )
    return list(
        session.exec(
            select(Account.id).where(
                col(Account.is_org_admin).is_(True),
                col(Account.organisation_id).in_(organisations),
                Account.status == "active",
            )
        ).all()
    )


def _leads(session: Session, network_id: str) -> list[Account]:
    return list(
        session.exec(
            select(Account)
            .join(Involvement, col(Involvement.account_id) == Account.id)
            .where(
                Involvement.network_id == network_id,
                Involvement.status == InvolvementStatus.active,
                col(Involvement.is_lead).is_(True),
            )
        ).all()
    )


# Escalation


def overdue_urgent_notes(session: Session, *, now: datetime, minutes: float) -> list[Note]:
    """Urgent notes older than the escalation time that no lead has acknowledged and that have not escalated."""
    lead_acknowledged = exists(
        select(Acknowledgement.id)
        .join(Involvement, col(Involvement.account_id) == Acknowledgement.account_id)
        .where(
            col(Acknowledgement.note_id) == col(Note.id),
            col(Involvement.network_id) == col(Note.network_id),
            Involvement.status == InvolvementStatus.active,
            col(Involvement.is_lead).is_(True),
        )
    )
    escalated = exists(select(Alert.id).where(col(Alert.dedupe_key) == "escalation:" + col(Note.id)))
    return list(
        session.exec(
            select(Note)
            .join(Network, col(Network.id) == Note.network_id)
            .where(
                Note.level == "urgent",
                Note.kind == NoteKind.practitioner,
                col(Note.redacted_at).is_(None),
                col(Note.created_at) <= now - timedelta(minutes=minutes),
                Network.status == NetworkStatus.open,
                ~lead_acknowledged,
                ~escalated,
            )
            .order_by(col(Note.created_at))
            .limit(100)
        ).all()
    )


def escalate_overdue(
    *, session: Session, keys: Keyring, now: datetime, minutes: float, thresholds: policy.AlertThresholds
) -> int:
    """Raise an escalation for each overdue urgent note (once each, whichever process gets there first)."""
    raised = 0
    for note in overdue_urgent_notes(session, now=now, minutes=minutes):
        network = session.get(Network, note.network_id)
        assert network is not None
        signal = policy.Signal(note.id, note.author_organisation_id, note.level, note.observed_on)
        key = f"escalation:{note.id}"
        if _raise(session, keys, network, AlertKind.escalation, key, SYSTEM, thresholds, signal, at=now):
            raised += 1
    return raised


# Viewing


def _visible_signals(
    session: Session, viewer: policy.NoteViewer, network: Network, alert: Alert
) -> list[policy.Signal]:
    note_ids = select(AlertNote.note_id).where(AlertNote.alert_id == alert.id)
    return _signals(
        session,
        network.id,
        where=(col(Note.id).in_(note_ids), visible(viewer, history_rule=network.history_rule)),
    )


def _shown_to_lead(
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
    ids = {n.author_organisation_id for n in notes.values() if n.author_organisation_id}
    names = dict(session.exec(select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))).all())
    return _reason(alert, shown, thresholds, notes, names)


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


def _alert_for(
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
    return _alert_for(session, keys, account, alert_id, thresholds)


# Acting


def acknowledge(
    *, session: Session, keys: Keyring, account: Account, alert_id: str, thresholds: policy.AlertThresholds
) -> AlertView:
    """Open → acknowledged; acknowledging again changes nothing (it is counted once)."""
    view = _alert_for(session, keys, account, alert_id, thresholds)
    alert = view.alert
    if alert.state == AlertState.resolved:
        raise Conflict("This alert has been resolved", code="already_resolved")
    if not view.may_acknowledge:
        raise Forbidden("You cannot acknowledge this alert", code="not_permitted")
    if alert.state == AlertState.acknowledged:
        return view
    alert.state = AlertState.acknowledged
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = account.id
    network = session.get(Network, alert.network_id)
    assert network is not None
    _tell(session, keys, network, alert, "alert.updated", account.id, thresholds)
    return _alert_for(session, keys, account, alert_id, thresholds)


def resolve(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    alert_id: str,
    outcome: object,
    text: object,
    thresholds: policy.AlertThresholds,
) -> AlertView:
    view = _alert_for(session, keys, account, alert_id, thresholds)
    alert = view.alert
    if alert.state == AlertState.resolved:
        raise Conflict("This alert has already been resolved", code="already_resolved")
    if not view.may_resolve:
        raise Forbidden("The outcome of this alert is for a lead professional to record", code="not_permitted")
    fields = Fields()
    chosen = fields.choice(
        "outcome", outcome, options={str(o) for o in AlertOutcome}, message="Choose what was done about the alert"
    )
    written = fields.text(
        "text", text, label="What was done", max_length=limits.ALERT_OUTCOME, required=chosen == AlertOutcome.other
    )
    fields.check()
    now = utcnow()
    alert.state = AlertState.resolved
    alert.resolved_at = now
    alert.resolved_by_id = account.id
    alert.outcome = chosen
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id = now, account.id
    if written:
        alert.outcome_text_sealed = keys.cipher.encrypt(written, context=f"alert-outcome:{alert.id}")
    if alert.kind in (AlertKind.accumulation, AlertKind.no_lead):
        alert.dedupe_key = None  # the next qualifying note raises a new one
    network = session.get(Network, alert.network_id)
    assert network is not None
    _tell(session, keys, network, alert, "alert.updated", account.id, thresholds)
    return _alert_for(session, keys, account, alert_id, thresholds)


def move(session: Session, source_id: str, target_id: str) -> None:
    """A merge: the merged-away network's alerts become the target's. An open accumulation or no lead alert takes
    the target's key unless the target has its own open one (then both stay open until resolved)."""
    for alert in session.exec(select(Alert).where(Alert.network_id == source_id)).all():
        alert.network_id = target_id
        if alert.dedupe_key == f"{alert.kind}:{source_id}":
            taken = session.exec(select(Alert.id).where(Alert.dedupe_key == f"{alert.kind}:{target_id}")).first()
            alert.dedupe_key = None if taken else f"{alert.kind}:{target_id}"
        session.add(alert)
    session.flush()


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
        session.exec(
            select(Alert)
            .where(col(Alert.network_id).in_(list(viewers)), Alert.state != AlertState.resolved)
            .order_by(col(Alert.raised_at).desc(), col(Alert.id))
        ).all()
    )
    if not open_alerts:
        return []
    account_id = next(iter(viewers.values()))[1].account_id
    seen = seen_across(Standings(account_id, viewers), viewers)
    open_ids = (
        select(Alert.id)
        .where(col(Alert.network_id).in_(list(viewers)), Alert.state != AlertState.resolved)
        .scalar_subquery()
    )
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
    names = dict(
        session.exec(
            select(Organisation.id, Organisation.name).where(
                col(Organisation.id).in_({n.author_organisation_id for n in notes.values() if n.author_organisation_id})
            )
        ).all()
    )
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


def for_admin(
    *, session: Session, keys: Keyring, account: Account, thresholds: policy.AlertThresholds
) -> list[AlertView]:
    """The unresolved escalation and no lead alerts an organisation admin is shown, newest first."""
    return [
        view
        for view in for_person(session=session, keys=keys, account=account, thresholds=thresholds)
        if view.alert.kind in policy.ADMIN_ALERTS and view.alert.state != AlertState.resolved
    ]
