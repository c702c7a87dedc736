"""Acting on alerts: acknowledging and resolving one with its outcome, and moving a network's alerts with a merge."""

from __future__ import annotations

from sqlmodel import Session, select

from patchwork import limits, policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.errors import Conflict, Forbidden
from patchwork.models import Account
from patchwork.models.alerts import Alert, AlertKind, AlertOutcome, AlertState
from patchwork.models.networks import Network
from patchwork.services.alerts.raising import tell
from patchwork.services.alerts.viewing import AlertView, alert_for
from patchwork.services.validation import Fields

# Acting


def acknowledge(
    *, session: Session, keys: Keyring, account: Account, alert_id: str, thresholds: policy.AlertThresholds
) -> AlertView:
    """Open → acknowledged; acknowledging again changes nothing (it is counted once)."""
    view = alert_for(session, keys, account, alert_id, thresholds)
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
    tell(session, keys, network, alert, "alert.updated", account.id, thresholds)
    return alert_for(session, keys, account, alert_id, thresholds)


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
    view = alert_for(session, keys, account, alert_id, thresholds)
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
    tell(session, keys, network, alert, "alert.updated", account.id, thresholds)
    return alert_for(session, keys, account, alert_id, thresholds)


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
