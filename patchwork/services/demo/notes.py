"""Demo notes: every category, level, audience and basis, some revised, replied to, acknowledged and redacted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account, Involvement, Organisation
from patchwork.models.notes import Note
from patchwork.services import notes as note_service

# (network index, author, days ago observed, category, level, audience, the audience's organisations and people
# (each empty unless the audience names them), body)
DEMO_NOTES: list[tuple[int, str, int, str, str, str, tuple[str, ...], tuple[str, ...], str]] = [
    (
        0,
        "Amira Khan",
        150,
        "attendance",
        "observation",
        "network",
        (),
        (),
        "Maya was late four times this half-term, usually with a different adult each day.",
    ),
    (
        0,
        "Helen Morgan",
        132,
        "hunger_nutrition",
        "concern",
        "network",
        (),
        (),
        "Maya asked for seconds at breakfast club and took food home in her bag.",
    ),
    (
        0,
        "Grace Obi",
        120,
        "adults_around_child",
        "concern",
        "lead",
        (),
        (),
        "A man I did not recognise collected Maya's brother; he did not know the password.",
    ),
    (
        0,
        "Dr Sarah Lewis",
        101,
        "health",
        "observation",
        "organisations",
        ("Northgate Community Health Trust", "Millbrook Medical Practice"),
        (),
        "Two missed immunisation appointments; mum says she has been unwell.",
    ),
    (
        0,
        "Amira Khan",
        80,
        "presentation_hygiene",
        "concern",
        "people",
        (),
        ("Helen Morgan",),
        "Same uniform all week, unwashed; Maya says the washing machine is broken.",
    ),
    (
        0,
        "Helen Morgan",
        45,
        "behaviour_wellbeing",
        "concern",
        "network",
        (),
        (),
        "Maya was withdrawn in the drop-in and said she does not like going home on Fridays.",
    ),
    (
        0,
        "Grace Obi",
        12,
        "home_environment",
        "urgent",
        "network",
        (),
        (),
        "Mum disclosed that her new partner shouts at the children; no physical harm disclosed. "
        "Referred to front door today.",
    ),
    (
        1,
        "Priya Nair",
        170,
        "home_environment",
        "observation",
        "network",
        (),
        (),
        "Flat is damp and cold; family using one room. Housing repair requested.",
    ),
    (
        1,
        "Daniel Reyes",
        140,
        "health",
        "concern",
        "organisations",
        ("Northgate Community Health Trust", "Harbour Housing Association"),
        (),
        "Lenny's weight has dropped from the 50th to the 25th centile since spring.",
    ),
    (
        1,
        "Fatima Ali",
        95,
        "home_environment",
        "concern",
        "network",
        (),
        (),
        "Repairs refused access twice; neighbour reports loud arguments late at night.",
    ),
    (
        1,
        "Priya Nair",
        30,
        "online",
        "observation",
        "lead",
        (),
        (),
        "Older sibling says Lenny watches videos on an adult's phone late into the night.",
    ),
    (
        2,
        "Claire Dawson",
        160,
        "injury",
        "concern",
        "network",
        (),
        (),
        "Bruise on Aisha's forearm; explanation (fell off a bike) is consistent but third injury this year.",
    ),
    (
        2,
        "Tom Fletcher",
        130,
        "behaviour_wellbeing",
        "observation",
        "network",
        (),
        (),
        "Aisha has stopped eating lunch with friends and spends break in the library.",
    ),
    (
        2,
        "Sgt Joe Bennett",
        110,
        "adults_around_child",
        "concern",
        "organisations",
        ("Eastshire Police", "Eastshire Children's Social Care"),
        (),
        "Aisha seen twice at 11pm near the bus station with older teenagers.",
    ),
    (
        2,
        "Lucy Ward",
        60,
        "other",
        "observation",
        "people",
        (),
        ("Claire Dawson", "Tom Fletcher"),
        "Mum asked for help with a family support plan and agreed to share with school.",
    ),
    (
        2,
        "Tom Fletcher",
        20,
        "attendance",
        "concern",
        "network",
        (),
        (),
        "Attendance down to 82% this term; absences are mostly Mondays.",
    ),
]


def create_demo_notes(*, session: Session, keys: Keyring, network_ids: list[str]) -> int:
    """Notes of every category, level, audience and basis, some revised, redacted, replied to and acknowledged."""
    if session.exec(select(Note.id).where(col(Note.network_id).in_(network_ids))).first() is not None:
        return 0
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    organisations = {o.name: o.id for o in session.exec(select(Organisation)).all()}
    now = utcnow()
    for network_id in network_ids:
        for involvement in session.exec(select(Involvement).where(Involvement.network_id == network_id)).all():
            involvement.started_at = now - timedelta(days=200)
            session.add(involvement)
    created = [_post(session, keys, accounts, organisations, network_ids, n, now) for n in range(len(DEMO_NOTES))]
    session.flush()
    _follow_up(session, keys, accounts, created)
    _redact_a_mistake(session, keys, accounts, network_ids, now)
    return len(created) + 1


def _post(
    session: Session,
    keys: Keyring,
    accounts: dict[str, Account],
    organisations: dict[str, str],
    network_ids: list[str],
    n: int,
    now: datetime,
) -> Note:
    index, author, days, category, level, audience, shared_orgs, shared_people, body = DEMO_NOTES[n]
    consent = n % 3 != 0
    consented_on = (now - timedelta(days=days + 3)).date().isoformat()
    reason = ["risk_to_child", "significant_harm", "legal_duty", "public_task"][n % 4]
    draft = note_service.clean_draft(
        note_service.NoteInput(
            body=body,
            category=category,
            level=level,
            observed_on=(now - timedelta(days=days)).date().isoformat(),
            audience=audience,
            organisation_ids=[organisations[o] for o in shared_orgs],
            user_ids=[accounts[p].id for p in shared_people],
            basis="consent" if consent else "without_consent",
            consent_from="Mother" if consent else None,
            consented_on=consented_on if consent else None,
            reason=None if consent else reason,
            justification=None if consent else "Asking the parent first could put the child at risk.",
        ),
        today=now.date(),
    )
    note = note_service.post_note(
        session=session,
        keys=keys,
        account=accounts[author],
        network_id=network_ids[index],
        draft=draft,
        referral_route="",
        referral_route_acknowledged=True,
    ).note
    note.created_at = now - timedelta(days=days - 1, hours=n % 7)
    session.add(note)
    return note


def _follow_up(session: Session, keys: Keyring, accounts: dict[str, Account], created: list[Note]) -> None:
    """A revision, two replies and acknowledgements on the posted notes."""
    first, second, third = created[1], created[5], created[11]
    note_service.revise(
        session=session,
        keys=keys,
        account=accounts["Helen Morgan"],
        note_id=first.id,
        body=DEMO_NOTES[1][-1] + " Breakfast club staff say this happens most Mondays.",
    )
    note_service.reply(
        session=session,
        keys=keys,
        account=accounts["Amira Khan"],
        note_id=second.id,
        body="School has seen the same on Mondays; I will raise it at the next meeting.",
    )
    note_service.reply(
        session=session,
        keys=keys,
        account=accounts["Tom Fletcher"],
        note_id=third.id,
        body="She told me the same story about the bike.",
    )
    for name in ("Amira Khan", "Grace Obi", "Dr Sarah Lewis"):
        if accounts[name].id != second.author_id:
            note_service.acknowledge(session=session, keys=keys, account=accounts[name], note_id=second.id)
    note_service.acknowledge(session=session, keys=keys, account=accounts["Claire Dawson"], note_id=created[12].id)


def _redact_a_mistake(
    session: Session, keys: Keyring, accounts: dict[str, Account], network_ids: list[str], now: datetime
) -> None:
    wrong = note_service.post_note(
        session=session,
        keys=keys,
        account=accounts["Daniel Reyes"],
        network_id=network_ids[1],
        draft=note_service.clean_draft(
            note_service.NoteInput(
                body="Entered on the wrong child's record.",
                category="other",
                level="observation",
                observed_on=(now - timedelta(days=70)).date().isoformat(),
                audience="network",
                basis="consent",
                consent_from="Father",
                consented_on=(now - timedelta(days=71)).date().isoformat(),
            ),
            today=now.date(),
        ),
        referral_route="",
        referral_route_acknowledged=True,
    ).note
    note_service.redact(
        session=session,
        keys=keys,
        account=accounts["Priya Nair"],
        note_id=wrong.id,
        reason="Recorded on the wrong child's network",
    )
