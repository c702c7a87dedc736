"""Raising alerts: inside the transaction that changes a note, and by the escalation schedule; each raised once
whoever gets there first, audited and put in the network's events for the leads shown it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, and_, bindparam, exists, insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account
from patchwork.models.alerts import Alert, AlertKind, AlertNote
from patchwork.models.networks import Involvement, InvolvementStatus, Network, NetworkStatus
from patchwork.models.notes import Acknowledgement, Note, NoteKind
from patchwork.outbox import ring_account
from patchwork.services import changes
from patchwork.services.alerts.viewing import shown_to_lead

SYSTEM = None  # the schedule raises escalations: no person's act


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
    tell(session, keys, network, alert, "alert.raised", actor_id, thresholds)
    return alert


def tell(
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
        if shown_to_lead(session, account, network, alert, thresholds)
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
