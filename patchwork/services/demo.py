"""Demo data: realistic organisations and people, created once however often it runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from patchwork.auth.passwords import Passwords
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.models import (
    Account,
    AccountKind,
    AccountStatus,
    Child,
    Involvement,
    Network,
    Organisation,
    RecoveryCode,
)
from patchwork.models.notes import FamilyMembership, Note
from patchwork.services import children, exports, networks
from patchwork.services import family as family_service
from patchwork.services import notes as note_service
from patchwork.services.accounts import actor_of, roles_of
from patchwork.services.demo_caseload import create_caseload

ORGANISATIONS = [
    ("Oakfield Primary School", "school"),
    ("Riverside Children's Centre", "early_years"),
    ("Northgate Community Health Trust", "health"),
    ("Millbrook Medical Practice", "gp"),
    ("Eastshire Police", "police"),
    ("Eastshire Children's Social Care", "social_care"),
    ("Eastshire Early Help", "early_help"),
    ("Harbour Housing Association", "housing"),
]

# (name, job title, organisation index, organisation admin)
PRACTITIONERS = [
    ("Amira Khan", "Designated safeguarding lead", 0, True),
    ("Tom Fletcher", "Class teacher", 0, False),
    ("Grace Obi", "Children's centre manager", 1, True),
    ("Priya Nair", "Family support worker", 1, False),
    ("Helen Morgan", "School nurse", 2, True),
    ("Daniel Reyes", "Health visitor", 2, False),
    ("Dr Sarah Lewis", "GP", 3, True),
    ("Mark Evans", "Practice nurse", 3, False),
    ("Sgt Joe Bennett", "Police safeguarding officer", 4, True),
    ("Claire Dawson", "Social worker", 5, True),
    ("Ravi Patel", "Senior social worker", 5, False),
    ("Lucy Ward", "Early help practitioner", 6, True),
    ("Owen Hughes", "Early help practitioner", 6, False),
    ("Fatima Ali", "Housing officer", 7, True),
]

ADMIN = ("System Admin", "admin@patchwork.example.org")

# Family members of Aisha Begum's network (the third demo network): (name, e-mail, relationship).
FAMILY = [
    ("Nadia Begum", "nadia.begum@family.example.org", "Mother"),
    ("Aisha Begum", "aisha.begum@family.example.org", "Young person"),
]
FAMILY_NETWORK = 2


def email_for(name: str, organisation: str) -> str:
    person = name.lower().replace("dr ", "").replace("sgt ", "").replace(" ", ".")
    domain = organisation.lower().replace("'", "").replace(" ", "-")
    return f"{person}@{domain}.example.org"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    kind: str
    roles: list[str]
    organisation: str | None
    password: str | None  # None when the account already existed and kept its password
    leads: tuple[str, ...] = ()  # the children whose networks this person leads


@dataclass(frozen=True)
class DemoResult:
    accounts: list[DemoAccount]
    created: int
    networks: list[str]


async def create_demo(*, db: Database, passwords: Passwords, keys: Keyring, password: str | None) -> DemoResult:
    shared_hash = await passwords.hash(password) if password else None
    wanted = [(ADMIN[0], ADMIN[1], "", None, False)] + [
        (name, email_for(name, ORGANISATIONS[index][0]), title, index, is_admin)
        for name, title, index, is_admin in PRACTITIONERS
    ]
    emails = [w[1] for w in wanted] + [email for _, email, _ in FAMILY]
    existing = await db.run(
        lambda session: set(session.exec(select(Account.email).where(col(Account.email).in_(emails))))
    )
    fresh_passwords = {email: secrets.token_urlsafe(12) for email in emails if email not in existing and not password}
    fresh_hashes = {email: await passwords.hash(value) for email, value in fresh_passwords.items()}

    def write(session: Session) -> DemoResult:
        organisations: list[Organisation] = []
        created = 0
        for name, type_ in ORGANISATIONS:
            organisation = session.exec(
                select(Organisation).where(func.lower(Organisation.name) == name.lower())
            ).first()
            if organisation is None:
                organisation = Organisation(name=name, type=type_)
                session.add(organisation)
                session.flush()
                created += 1
            organisations.append(organisation)
        result: list[DemoAccount] = []
        for name, email, title, index, is_admin in wanted:
            account = session.exec(select(Account).where(Account.email == email)).first()
            organisation = organisations[index] if index is not None else None
            if account is None:
                account = Account(
                    email=email,
                    name=name,
                    job_title=title,
                    kind=AccountKind.admin if organisation is None else AccountKind.practitioner,
                    organisation_id=organisation.id if organisation else None,
                    is_org_admin=is_admin,
                    status=AccountStatus.active,
                    password_hash=shared_hash or fresh_hashes[email],
                )
                created += 1
            elif shared_hash is not None:
                _reset(session, account, shared_hash)
            session.add(account)
            result.append(
                DemoAccount(
                    email=email,
                    kind=account.kind,
                    roles=roles_of(account),
                    organisation=organisation.name if organisation else None,
                    password=password or fresh_passwords.get(email),
                )
            )
        for name, email, _ in FAMILY:
            account = session.exec(select(Account).where(Account.email == email)).first()
            if account is None:
                account = Account(
                    email=email,
                    name=name,
                    kind=AccountKind.family,
                    status=AccountStatus.active,
                    password_hash=shared_hash or fresh_hashes[email],
                )
                created += 1
            elif shared_hash is not None:
                _reset(session, account, shared_hash)
            session.add(account)
            result.append(
                DemoAccount(
                    email=email,
                    kind=account.kind,
                    roles=roles_of(account),
                    organisation=None,
                    password=password or fresh_passwords.get(email),
                )
            )
        session.flush()
        network_ids = create_demo_networks(session=session, keys=keys)
        created += create_demo_notes(session=session, keys=keys, network_ids=network_ids)
        created += create_demo_family(session=session, keys=keys, network_id=network_ids[FAMILY_NETWORK])
        created += create_caseload(session=session, keys=keys)
        leads = _leads_by_email(session, keys)
        result = [replace(a, leads=leads.get(a.email, ())) for a in result]
        return DemoResult(accounts=result, created=created, networks=network_ids)

    return await db.run(write)


def _leads_by_email(session: Session, keys: Keyring) -> dict[str, tuple[str, ...]]:
    led: dict[str, list[str]] = {}
    for email, child in session.exec(
        select(Account.email, Child)
        .join(Involvement, col(Involvement.account_id) == Account.id)
        .join(Network, col(Network.id) == Involvement.network_id)
        .join(Child, col(Child.id) == Network.child_id)
        .where(Involvement.status == "active", col(Involvement.is_lead).is_(True))
    ).all():
        led.setdefault(email, []).append(children.open_identity(keys.cipher, child).display_name)
    return {email: tuple(sorted(names)) for email, names in led.items()}


def _reset(session: Session, account: Account, password_hash: str) -> None:
    """`--password`: every demo account gets that password and no second factor."""
    account.password_hash = password_hash
    account.totp_secret = None
    account.totp_last_step = None
    account.status = AccountStatus.active
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account.id))


# (given, family, known as, date of birth, NHS number, postcode, members: (email-name, role label, lead))
DEMO_CHILDREN = [
    (
        "Maya",
        "Thompson",
        None,
        "2017-03-27",
        "9434765919",
        "EA1 4QT",
        [
            ("Amira Khan", "Designated safeguarding lead", True),
            ("Helen Morgan", "School nurse", False),
            ("Grace Obi", "Children's centre manager", False),
            ("Dr Sarah Lewis", "GP", False),
        ],
    ),
    (
        "Leo",
        "Kowalski",
        "Lenny",
        "2020-11-02",
        None,
        "EA3 2BD",
        [
            ("Priya Nair", "Family support worker", True),
            ("Daniel Reyes", "Health visitor", False),
            ("Fatima Ali", "Housing officer", False),
        ],
    ),
    (
        "Aisha",
        "Begum",
        None,
        "2012-06-14",
        "4010232137",
        None,
        [
            ("Claire Dawson", "Social worker", True),
            ("Tom Fletcher", "Class teacher", False),
            ("Sgt Joe Bennett", "Police safeguarding officer", False),
            ("Lucy Ward", "Early help practitioner", False),
        ],
    ),
]


def create_demo_networks(*, session: Session, keys: Keyring) -> list[str]:
    """The demo networks, created once: found again by exact search the next time."""
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    network_ids: list[str] = []
    for given, family, known_as, born, nhs, postcode, members in DEMO_CHILDREN:
        identity = children.ChildIdentity(given, family, date.fromisoformat(born), nhs, postcode, known_as)
        query = children.SearchQuery(family, identity.date_of_birth, given, None)
        child_id = children.find_exact(session=session, index=keys.index, query=query)
        if child_id is not None:
            network = session.exec(select(Network).where(Network.child_id == child_id)).one()
            network_ids.append(network.id)
            continue
        starter = accounts[members[0][0]]
        network = networks.start_network(
            session=session,
            keys=keys,
            actor=actor_of(starter),
            identity=identity,
            details=networks.InvolvementDetails(
                role_label=members[0][1], reason="Demo network", contact=_contact(starter)
            ),
        )
        for name, role, _ in members[1:]:
            account = accounts[name]
            networks.register_involvement(
                session=session,
                keys=keys,
                actor=actor_of(account),
                network_id=network.id,
                details=networks.InvolvementDetails(role_label=role, reason="Demo network", contact=_contact(account)),
            )
        for name, _, lead in members:
            if lead:
                networks.appoint_lead(
                    session=session,
                    keys=keys,
                    actor=actor_of(accounts[name]),
                    network_id=network.id,
                    user_id=accounts[name].id,
                )
        network_ids.append(network.id)
    return network_ids


def _contact(account: Account) -> str:
    return account.email


# (network index, author, days ago observed, category, level, audience, audience detail, family, basis, body)
DEMO_NOTES: list[tuple[int, str, int, str, str, str, tuple[str, ...], str]] = [
    (
        0,
        "Amira Khan",
        150,
        "attendance",
        "observation",
        "network",
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
        "Two missed immunisation appointments; mum says she has been unwell.",
    ),
    (
        0,
        "Amira Khan",
        80,
        "presentation_hygiene",
        "concern",
        "people",
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
        "Aisha seen twice at 11pm near the bus station with older teenagers.",
    ),
    (
        2,
        "Lucy Ward",
        60,
        "other",
        "observation",
        "people",
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
    created = []
    for n, (index, author, days, category, level, audience, detail, body) in enumerate(DEMO_NOTES):
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
                organisation_ids=[organisations[o] for o in detail] if audience == "organisations" else [],
                user_ids=[accounts[p].id for p in detail] if audience == "people" else [],
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
        created.append((index, author, note))
    session.flush()
    first, second, third = created[1][2], created[5][2], created[11][2]
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
    note_service.acknowledge(session=session, keys=keys, account=accounts["Claire Dawson"], note_id=created[12][2].id)
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
    return len(created) + 1


# Shared with (mother, young person), author, days ago observed, category, body
FAMILY_NOTES: list[tuple[tuple[bool, bool], str, int, str, str]] = [
    (
        (True, True),
        "Claire Dawson",
        9,
        "other",
        "We met as a family on Tuesday. Everyone agreed Aisha will be home by 9pm on school nights, and Lucy will "
        "help with a family support plan.",
    ),
    (
        (False, True),
        "Tom Fletcher",
        6,
        "behaviour_wellbeing",
        "Aisha has been picked for the school netball team. Practice is on Thursdays after school.",
    ),
    (
        (True, False),
        "Lucy Ward",
        4,
        "home_environment",
        "Nadia asked for help with the housing transfer; I have sent the form to Harbour Housing.",
    ),
]
FAMILY_VOICE = (
    "Aisha stays at her cousin's some weekends; she is not out on the streets. I would like school to ring me first "
    "if she is absent, not send a letter."
)


def create_demo_family(*, session: Session, keys: Keyring, network_id: str) -> int:
    """A mother and the young person in one network: notes shared with one and not the other, the mother's own
    account, and practitioners' views and an export, so that the access log has entries. Created once."""
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    family_ids = [accounts[name].id for name, _, _ in FAMILY]
    if session.exec(
        select(FamilyMembership.id).where(
            FamilyMembership.network_id == network_id, col(FamilyMembership.account_id).in_(family_ids)
        )
    ).first():
        return 0
    lead = accounts["Claire Dawson"]
    now = utcnow()
    for name, email, relationship in FAMILY:
        invited = family_service.invite(
            session=session,
            keys=keys,
            account=lead,
            network_id=network_id,
            details=family_service.InvitationDetails(name=name, relationship=relationship, email=email),
            lifetime=timedelta(hours=72),
        )
        family_service.admit(session=session, keys=keys, invitation=invited.invitation, account=accounts[name], at=now)
    mother, young = (accounts[name] for name, _, _ in FAMILY)
    for (to_mother, to_young), author, days, category, body in FAMILY_NOTES:
        draft = note_service.clean_draft(
            note_service.NoteInput(
                body=body,
                category=category,
                level="observation",
                observed_on=(now - timedelta(days=days)).date().isoformat(),
                audience="network",
                family_user_ids=[m.id for m, shared in ((mother, to_mother), (young, to_young)) if shared],
                basis="consent",
                consent_from="Nadia Begum (mother)",
                consented_on=(now - timedelta(days=days)).date().isoformat(),
            ),
            today=now.date(),
        )
        note_service.post_note(
            session=session,
            keys=keys,
            account=accounts[author],
            network_id=network_id,
            draft=draft,
            referral_route="",
            referral_route_acknowledged=True,
        )
    voice = note_service.post_family_voice(
        session=session, keys=keys, account=mother, network_id=network_id, body=FAMILY_VOICE
    ).note
    note_service.reply(
        session=session,
        keys=keys,
        account=lead,
        note_id=voice.id,
        body="Thank you, Nadia. School will ring you first from now on.",
    )
    note_service.acknowledge(session=session, keys=keys, account=accounts["Tom Fletcher"], note_id=voice.id)
    for name in ("Claire Dawson", "Tom Fletcher", "Sgt Joe Bennett"):
        networks.view_network(session=session, keys=keys, actor=actor_of(accounts[name]), network_id=network_id)
    for name in ("Claire Dawson", "Lucy Ward"):
        note_service.feed(session=session, keys=keys, account=accounts[name], network_id=network_id, audited=True)
    networks.search(
        session=session,
        keys=keys,
        actor=actor_of(accounts["Sgt Joe Bennett"]),
        query=children.SearchQuery("Begum", date(2012, 6, 14), "Aisha", None),
        per_hour=1000,
    )
    exports.export_chronology(
        session=session,
        keys=keys,
        account=accounts["Lucy Ward"],
        network_id=network_id,
        filters=note_service.ChronologyFilters(),
        fmt="csv",
    )
    return len(FAMILY) * 2 + len(FAMILY_NOTES) + 3
