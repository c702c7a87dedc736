"""The demo family: a mother and a young person in Aisha Begum's network, what is shared with each, the mother's
own account, and practitioners looking at the record so that the family's access log has entries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account
from patchwork.models.notes import FamilyMembership
from patchwork.services import children, exports, networks
from patchwork.services import family as family_service
from patchwork.services import notes as note_service
from patchwork.services.accounts import actor_of

# Family members of Aisha Begum's network (the third demo network): (name, e-mail, relationship).
FAMILY = [
    ("Nadia Begum", "nadia.begum@family.example.org", "Mother"),
    ("Aisha Begum", "aisha.begum@family.example.org", "Young person"),
]
FAMILY_NETWORK = 2


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
    _share_with_family(session, keys, accounts, network_id, now)
    _family_voice(session, keys, accounts, network_id)
    _look_at_the_record(session, keys, accounts, network_id)
    return len(FAMILY) * 2 + len(FAMILY_NOTES) + 3


def _share_with_family(
    session: Session, keys: Keyring, accounts: dict[str, Account], network_id: str, now: datetime
) -> None:
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


def _family_voice(session: Session, keys: Keyring, accounts: dict[str, Account], network_id: str) -> None:
    mother = accounts[FAMILY[0][0]]
    voice = note_service.post_family_voice(
        session=session, keys=keys, account=mother, network_id=network_id, body=FAMILY_VOICE
    ).note
    note_service.reply(
        session=session,
        keys=keys,
        account=accounts["Claire Dawson"],
        note_id=voice.id,
        body="Thank you, Nadia. School will ring you first from now on.",
    )
    note_service.acknowledge(session=session, keys=keys, account=accounts["Tom Fletcher"], note_id=voice.id)


def _look_at_the_record(session: Session, keys: Keyring, accounts: dict[str, Account], network_id: str) -> None:
    """Views, reads, a search and an export: what the family's access log shows."""
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
