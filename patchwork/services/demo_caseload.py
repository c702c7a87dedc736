"""A lead professional's caseload for the demo: one social worker leading 40 networks, a year of notes for the
charts, and open alerts of every kind (accumulation, urgent, escalation, no lead). Made once; the same each time."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account, Involvement, Network
from patchwork.models.notes import CATEGORY_LABELS, Note
from patchwork.services import alerts, children, networks
from patchwork.services import notes as note_service
from patchwork.services.accounts import actor_of

LEAD = "Ravi Patel"
CASELOAD = 40
COLLEAGUES = [
    "Tom Fletcher",
    "Priya Nair",
    "Daniel Reyes",
    "Mark Evans",
    "Owen Hughes",
    "Fatima Ali",
    "Sgt Joe Bennett",
]
GIVEN = ["Ella", "Noah", "Ivy", "Jacob", "Zara", "Oscar", "Mia", "Arlo", "Ruby", "Theo", "Isla", "Kai", "Freya", "Ezra"]
FAMILY_NAMES = ["Adams", "Brooks", "Carter", "Doyle", "Evans", "Foster", "Grant", "Hayes", "Irwin", "Jones"]
BODIES = {
    "observation": "Seemed settled today; ate lunch and joined in with others.",
    "concern": "Arrived tired and hungry again; said there was no breakfast at home.",
    "urgent": "Has a bruise on the arm and did not want to say how it happened.",
}
THRESHOLDS = policy.AlertThresholds()


def create_caseload(*, session: Session, keys: Keyring) -> int:
    """Returns how many records it made (0 when the caseload is there already)."""
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    lead = accounts[LEAD]
    led = session.exec(
        select(Involvement.id).where(Involvement.account_id == lead.id, col(Involvement.is_lead).is_(True))
    ).all()
    if len(led) >= CASELOAD:
        return 0
    chance = random.Random(20261203)
    now = utcnow()
    created = 0
    network_ids = []
    members_of: dict[str, list[Account]] = {}
    for n in range(CASELOAD):
        given, family = GIVEN[n % len(GIVEN)], FAMILY_NAMES[n * 7 % len(FAMILY_NAMES)]
        identity = children.ChildIdentity(given, family, date(2011, 1, 5) + timedelta(days=97 * n), None, None, None)
        members = [accounts[name] for name in chance.sample(COLLEAGUES, 2 + n % 2)]
        network = _network(session, keys, lead, identity, members, with_lead=True)
        network_ids.append(network.id)
        members_of[network.id] = members
        created += 1 + len(members)
        created += _year_of_notes(session, keys, network, [lead, *members], chance, now, calm=n % 4 != 0)
    urgent_network, escalation_network = network_ids[1], network_ids[2]
    _note(session, keys, members_of[urgent_network][0], urgent_network, "urgent", "injury", now.date(), now)
    waiting = _note(
        session, keys, members_of[escalation_network][0], escalation_network, "urgent", "injury", now.date(), now
    )
    waiting.created_at = now - timedelta(hours=6)
    session.add(waiting)
    session.flush()
    alerts.escalate_overdue(session=session, keys=keys, now=now, minutes=240, thresholds=THRESHOLDS)
    created += 2 + _unled(session, keys, accounts, now)
    _resolve_some(session, keys, lead, network_ids[4:9])
    return created


def _network(
    session: Session,
    keys: Keyring,
    starter: Account,
    identity: children.ChildIdentity,
    members: list[Account],
    *,
    with_lead: bool,
) -> Network:
    network = networks.start_network(
        session=session,
        keys=keys,
        actor=actor_of(starter),
        identity=identity,
        details=networks.InvolvementDetails(role_label=starter.job_title or "Practitioner", reason="Demo caseload"),
    )
    for member in members:
        networks.register_involvement(
            session=session,
            keys=keys,
            actor=actor_of(member),
            network_id=network.id,
            details=networks.InvolvementDetails(role_label=member.job_title or "Practitioner", reason="Demo caseload"),
        )
    if with_lead:
        networks.appoint_lead(
            session=session, keys=keys, actor=actor_of(starter), network_id=network.id, user_id=starter.id
        )
    for involvement in session.exec(select(Involvement).where(Involvement.network_id == network.id)).all():
        involvement.started_at = utcnow() - timedelta(days=400)  # members since before the year of notes
        session.add(involvement)
    session.flush()
    return network


def _year_of_notes(
    session: Session,
    keys: Keyring,
    network: Network,
    authors: list[Account],
    chance: random.Random,
    now: datetime,
    *,
    calm: bool,
) -> int:
    today = now.date()
    days = sorted(chance.sample(range(5, 360), 8 + chance.randrange(8)), reverse=True)
    categories = sorted(CATEGORY_LABELS)
    for day in days:
        level = "observation" if calm or chance.random() < 0.6 else "concern"
        author = authors[1 + chance.randrange(len(authors) - 1)]
        _note(session, keys, author, network.id, level, chance.choice(categories), today - timedelta(days=day), now)
    if not calm:  # three concerns from two agencies in the last week: an accumulation alert
        for offset, author in enumerate((authors[1], authors[2], authors[1])):
            observed = today - timedelta(days=3 + offset)
            _note(session, keys, author, network.id, "concern", "hunger_nutrition", observed, now)
        return len(days) + 3
    return len(days)


def _note(
    session: Session,
    keys: Keyring,
    author: Account,
    network_id: str,
    level: str,
    category: str,
    observed_on: date,
    now: datetime,
) -> Note:
    draft = note_service.clean_draft(
        note_service.NoteInput(
            body=BODIES[level],
            category=category,
            level=level,
            observed_on=observed_on.isoformat(),
            audience="network",
            basis="consent",
            consent_from="Parent",
            consented_on=observed_on.isoformat(),
        ),
        today=utcnow().date(),
    )
    note = note_service.post_note(
        session=session,
        keys=keys,
        account=author,
        network_id=network_id,
        draft=draft,
        referral_route="",
        referral_route_acknowledged=True,
        thresholds=THRESHOLDS,
    ).note
    return note


def _unled(session: Session, keys: Keyring, accounts: dict[str, Account], now: datetime) -> int:
    """A network whose members have concerns and no lead: a no lead alert for their organisations' admins."""
    identity = children.ChildIdentity("Sky", "Morgan-Reed", date(2016, 2, 29), None, None, None)
    network = _network(
        session,
        keys,
        accounts["Owen Hughes"],
        identity,
        [accounts["Tom Fletcher"], accounts["Daniel Reyes"]],
        with_lead=False,
    )
    today = now.date()
    for offset, name in enumerate(("Tom Fletcher", "Daniel Reyes", "Owen Hughes")):
        _note(
            session, keys, accounts[name], network.id, "concern", "attendance", today - timedelta(days=offset + 1), now
        )
    return 6


def _resolve_some(session: Session, keys: Keyring, lead: Account, network_ids: list[str]) -> None:
    """A few resolved alerts, so that history and insights have outcomes."""
    outcomes = ["no_further_action", "discussed_with_network", "referred_to_social_care"]
    resolved = 0
    for view in alerts.for_person(session=session, keys=keys, account=lead, thresholds=THRESHOLDS, state="open"):
        if view.alert.network_id in network_ids and view.may_resolve:
            alerts.resolve(
                session=session,
                keys=keys,
                account=lead,
                alert_id=view.alert.id,
                outcome=outcomes[resolved % len(outcomes)],
                text=None,
                thresholds=THRESHOLDS,
            )
            resolved += 1
