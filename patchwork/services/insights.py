"""Insights for a system admin: counts only, per organisation type, with no child-level data and no count smaller
than SMALLEST shown (such a count is shown as "fewer than 5": None here)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.errors import Forbidden
from patchwork.models import ORGANISATION_TYPE_LABELS, Organisation, OrganisationType
from patchwork.models.alerts import Alert, AlertOutcome
from patchwork.models.networks import Involvement, Network, NetworkStatus
from patchwork.models.notes import CATEGORY_LABELS, Acknowledgement, Note, NoteKind

SMALLEST = 5
LEVELS = ("observation", "concern", "urgent")


def shown(count: int) -> int | None:
    """A count as it may be shown: None (fewer than SMALLEST) when it is small enough to point at a child."""
    return count if count >= SMALLEST else None


@dataclass(frozen=True)
class NoteCount:
    month: date
    category: str
    level: str
    count: int | None


@dataclass
class TypeInsights:
    organisation_type: str
    label: str
    networks_open: int | None = None
    networks_closed: int | None = None
    notes: list[NoteCount] = field(default_factory=list)
    alerts_raised: int | None = None
    alerts_resolved: dict[str, int | None] = field(default_factory=dict)
    median_minutes_to_acknowledge_urgent: float | None = None


def for_admin(*, session: Session, actor: policy.Actor, since: date) -> list[TypeInsights]:
    if not policy.see_insights(actor):
        raise Forbidden("Only system admins see insights", code="forbidden")
    types = {o.id: o.type for o in session.exec(select(Organisation)).all()}
    involved: dict[str, set[str]] = defaultdict(set)  # type -> network ids
    for network_id, organisation_id in session.exec(select(Involvement.network_id, Involvement.organisation_id)).all():
        involved[types[organisation_id]].add(network_id)
    status = dict(session.exec(select(Network.id, Network.status)).all())
    notes: dict[str, Counter[tuple[date, str, str]]] = defaultdict(Counter)
    for organisation_id, observed_on, category, level, count in session.execute(
        sa_select(
            col(Note.author_organisation_id),
            col(Note.observed_on),
            col(Note.category),
            col(Note.level),
            func.count(),
        )
        .where(
            col(Note.kind) == NoteKind.practitioner,
            col(Note.redacted_at).is_(None),
            col(Note.observed_on) >= since,
            col(Note.author_organisation_id).is_not(None),
        )
        .group_by(col(Note.author_organisation_id), col(Note.observed_on), col(Note.category), col(Note.level))
    ).all():
        notes[types[organisation_id]][(date(observed_on.year, observed_on.month, 1), category, level)] += count
    alerts_by_network = session.exec(select(Alert.network_id, Alert.state, Alert.outcome)).all()
    waits = _urgent_waits(session, types)
    result = []
    for organisation_type in OrganisationType:
        networks = involved.get(organisation_type, set())
        mine = [a for a in alerts_by_network if a[0] in networks]
        outcomes = Counter(outcome for _, state, outcome in mine if state == "resolved" and outcome)
        minutes = waits.get(organisation_type, [])
        result.append(
            TypeInsights(
                organisation_type=organisation_type,
                label=ORGANISATION_TYPE_LABELS[organisation_type],
                networks_open=shown(sum(1 for n in networks if status.get(n) == NetworkStatus.open)),
                networks_closed=shown(sum(1 for n in networks if status.get(n) == NetworkStatus.closed)),
                notes=[
                    NoteCount(month, CATEGORY_LABELS.get(category, category), level, shown(count))
                    for (month, category, level), count in sorted(notes.get(organisation_type, Counter()).items())
                ],
                alerts_raised=shown(len(mine)),
                alerts_resolved={str(o): shown(outcomes.get(o, 0)) for o in AlertOutcome},
                median_minutes_to_acknowledge_urgent=(
                    round(statistics.median(minutes), 1) if len(minutes) >= SMALLEST else None
                ),
            )
        )
    return result


def _urgent_waits(session: Session, types: dict[str, str]) -> dict[str, list[float]]:
    """Minutes from each urgent note to its first acknowledgement, by the type of the organisation that wrote it."""
    first = dict(
        session.exec(
            select(Acknowledgement.note_id, func.min(Acknowledgement.at)).group_by(col(Acknowledgement.note_id))
        ).all()
    )
    waits: dict[str, list[float]] = defaultdict(list)
    for note_id, organisation_id, created_at in session.exec(
        select(Note.id, Note.author_organisation_id, Note.created_at).where(
            Note.level == "urgent", Note.kind == NoteKind.practitioner, col(Note.author_organisation_id).is_not(None)
        )
    ).all():
        acknowledged = first.get(note_id)
        if acknowledged is not None and organisation_id is not None:
            waits[types[organisation_id]].append((acknowledged - created_at).total_seconds() / 60)
    return waits
