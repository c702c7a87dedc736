"""The lead professional's dashboard: the networks they coordinate, their open alerts, the notes awaiting their
acknowledgement and a year of notes per network, everything judged by the policy as for any other view, in a
fixed number of queries however many networks they lead."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from patchwork import identifiers, policy
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.networks import Child, Involvement, InvolvementStatus, Network
from patchwork.models.notes import CATEGORY_LABELS, Acknowledgement, HistoryOpening, Note, NoteKind
from patchwork.services import activity, alerts, children
from patchwork.services.children import ChildIdentity
from patchwork.services.visibility import Standings, member_viewer, seen_across

PAGE_SIZE = 10
AWAITING_SHOWN = 20
ALERTS_SHOWN = 20
SORTS = {"alerts": "Open alerts", "awaiting": "Awaiting acknowledgement", "activity": "Last activity", "name": "Child"}
LEVELS = ("observation", "concern", "urgent")
AWAITING_LEVELS = ("concern", "urgent")


@dataclass(frozen=True)
class MonthCount:
    month: date  # the first of the month
    counts: dict[str, int]  # by level

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Chart:
    """Notes the lead may see over the last 12 months, by month and level, and by category and level."""

    months: list[MonthCount]
    categories: list[tuple[str, dict[str, int]]]

    @property
    def highest(self) -> int:
        return max((m.total for m in self.months), default=0)

    @property
    def total(self) -> int:
        return sum(m.total for m in self.months)


@dataclass(frozen=True)
class LedNetwork:
    network: Network
    child: ChildIdentity
    open_alerts: int
    awaiting: int
    last_activity_at: datetime
    chart: Chart | None = None


@dataclass(frozen=True)
class Awaiting:
    note_id: str
    network_id: str
    child_name: str
    level: str
    category: str
    organisation: str | None
    created_at: datetime


@dataclass(frozen=True)
class Dashboard:
    networks: list[LedNetwork]  # this page of them
    total_networks: int  # after the filter
    leads_any: bool
    page: int
    pages: int
    sort: str
    query: str
    alerts: list[alerts.AlertView] = field(default_factory=list)  # the newest ALERTS_SHOWN
    alerts_total: int = 0
    awaiting: list[Awaiting] = field(default_factory=list)
    awaiting_total: int = 0
    children: dict[str, str] = field(default_factory=dict)  # network id -> child's name, for the alert list


def _months(today: date) -> list[date]:
    first = date(today.year, today.month, 1)
    months = []
    for back in range(11, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        months.append(date(year, month + 1, 1))
    return months


def for_lead(
    *,
    session: Session,
    keys: Keyring,
    account: Account,
    thresholds: policy.AlertThresholds,
    today: date,
    sort: str = "alerts",
    query: str = "",
    page: int = 1,
) -> Dashboard:
    sort = sort if sort in SORTS else "alerts"
    query = " ".join(query.split())[:100]
    rows = _led_rows(session, account)
    if not rows:
        return Dashboard([], 0, False, 1, 1, sort, query)
    viewers = _viewers(session, account, rows)
    names = {network.id: children.open_identity(keys.cipher, child) for _, network, child in rows}
    shown_alerts = alerts.open_for_lead(session=session, keys=keys, viewers=viewers, thresholds=thresholds)
    alert_counts = Counter(view.alert.network_id for view in shown_alerts)
    seen = seen_across(Standings(account.id, viewers), viewers)
    awaiting_where = _awaiting_where(seen, account.id)
    awaiting_counts = dict(
        session.exec(
            select(Note.network_id, func.count(col(Note.id))).where(*awaiting_where).group_by(col(Note.network_id))
        ).all()
    )
    last = activity.as_seen_by(session, viewers)
    led = [
        LedNetwork(
            network, names[network.id], alert_counts[network.id], awaiting_counts.get(network.id, 0), last[network.id]
        )
        for _, network, _ in rows
    ]
    if query:
        wanted = identifiers.normalise_name(query)
        led = [n for n in led if wanted in identifiers.normalise_name(n.child.display_name)]
    led.sort(key=_sort_key(sort))
    pages = max(1, -(-len(led) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = led[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    charts = _charts(session, seen, [n.network.id for n in shown], today)
    return Dashboard(
        networks=[replace(n, chart=charts[n.network.id]) for n in shown],
        total_networks=len(led),
        leads_any=True,
        page=page,
        pages=pages,
        sort=sort,
        query=query,
        alerts=shown_alerts[:ALERTS_SHOWN],
        alerts_total=len(shown_alerts),
        awaiting=_awaiting(session, awaiting_where, names),
        awaiting_total=sum(awaiting_counts.values()),
        children={network_id: identity.display_name for network_id, identity in names.items()},
    )


def _led_rows(session: Session, account: Account) -> list[tuple[Involvement, Network, Child]]:
    """The networks this person leads, with their involvement and child."""
    return list(
        session.exec(
            select(Involvement, Network, Child)
            .join(Network, col(Network.id) == Involvement.network_id)
            .join(Child, col(Child.id) == Network.child_id)
            .where(
                Involvement.account_id == account.id,
                Involvement.status == InvolvementStatus.active,
                col(Involvement.is_lead).is_(True),
            )
        ).all()
    )


def _viewers(
    session: Session, account: Account, rows: list[tuple[Involvement, Network, Child]]
) -> dict[str, tuple[Network, policy.NoteViewer]]:
    """The lead's standing in each network they lead, as the policy sees it."""
    network_ids = [network.id for _, network, _ in rows]
    opened = set(
        session.exec(
            select(HistoryOpening.network_id).where(
                HistoryOpening.account_id == account.id, col(HistoryOpening.network_id).in_(network_ids)
            )
        ).all()
    )
    return {
        network.id: (network, member_viewer(involvement, history_opened=network.id in opened))
        for involvement, network, _ in rows
    }


def _awaiting_where(seen: ColumnElement[bool], account_id: str) -> tuple[Any, ...]:
    """Notes awaiting this lead's acknowledgement: concerns and urgent notes they may see, by others, not redacted."""
    return (
        seen,
        Note.kind == NoteKind.practitioner,
        col(Note.redacted_at).is_(None),
        Note.author_id != account_id,
        col(Note.level).in_(AWAITING_LEVELS),
        ~exists(
            select(Acknowledgement.id).where(
                col(Acknowledgement.note_id) == col(Note.id), Acknowledgement.account_id == account_id
            )
        ),
    )


def _sort_key(sort: str):  # type: ignore[no-untyped-def]
    if sort == "name":
        return lambda n: (identifiers.normalise_name(n.child.display_name), n.network.id)
    if sort == "activity":
        return lambda n: (-n.last_activity_at.timestamp(), n.network.id)
    if sort == "awaiting":
        return lambda n: (-n.awaiting, -n.open_alerts, -n.last_activity_at.timestamp(), n.network.id)
    return lambda n: (-n.open_alerts, -n.awaiting, -n.last_activity_at.timestamp(), n.network.id)


def _charts(session: Session, seen: ColumnElement[bool], network_ids: list[str], today: date) -> dict[str, Chart]:
    months = _months(today)
    by_month: dict[str, dict[date, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    by_category: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    if network_ids:
        for network_id, observed_on, level, category, count in session.execute(
            sa_select(col(Note.network_id), col(Note.observed_on), col(Note.level), col(Note.category), func.count())
            .where(
                col(Note.network_id).in_(network_ids),
                seen,
                col(Note.kind) == NoteKind.practitioner,
                col(Note.redacted_at).is_(None),
                col(Note.observed_on) >= months[0],
            )
            .group_by(col(Note.network_id), col(Note.observed_on), col(Note.level), col(Note.category))
        ).all():
            by_month[network_id][date(observed_on.year, observed_on.month, 1)][level] += count
            by_category[network_id][category][level] += count
    return {
        network_id: Chart(
            months=[MonthCount(m, {lv: by_month[network_id][m][lv] for lv in LEVELS}) for m in months],
            categories=sorted(
                (
                    (CATEGORY_LABELS.get(c, c), {lv: counts[lv] for lv in LEVELS})
                    for c, counts in by_category[network_id].items()
                ),
                key=lambda item: (-sum(item[1].values()), item[0]),
            ),
        )
        for network_id in network_ids
    }


def _awaiting(session: Session, where: tuple[object, ...], names: dict[str, ChildIdentity]) -> list[Awaiting]:
    rows = session.exec(
        select(Note, Organisation.name)
        .join(Organisation, col(Organisation.id) == Note.author_organisation_id, isouter=True)
        .where(*where)  # type: ignore[arg-type]
        .order_by(col(Note.created_at), col(Note.id))
        .limit(AWAITING_SHOWN)
    ).all()
    return [
        Awaiting(
            note_id=note.id,
            network_id=note.network_id,
            child_name=names[note.network_id].display_name,
            level=note.level,
            category=CATEGORY_LABELS.get(note.category, note.category),
            organisation=organisation,
            created_at=note.created_at,
        )
        for note, organisation in rows
    ]
