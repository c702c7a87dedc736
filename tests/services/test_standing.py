"""Where a viewer stands, asked as one statement, is what visibility.standing_in answers with its three queries,
for every kind of standing; and the network it returns is the session's own object."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from patchwork.clock import utcnow
from patchwork.errors import NotFound
from patchwork.models import Account, AccountKind, Organisation
from patchwork.models.networks import Child, Network
from patchwork.models.notes import HistoryOpening
from patchwork.runtime import keyring_for
from patchwork.services import children, notes, sealed_facts
from patchwork.services.visibility import standing_in
from tests.conftest import World

# (account kind, involvement: none | active | ended, is a lead, history opened, family: none | active | left)
STANDINGS = [
    ("practitioner", "active", False, False, "none"),
    ("practitioner", "active", True, False, "none"),
    ("practitioner", "active", False, True, "none"),
    ("practitioner", "ended", False, True, "none"),
    ("practitioner", "none", False, False, "none"),
    ("family", "none", False, False, "active"),
    ("family", "none", False, False, "left"),
    ("admin", "none", False, False, "none"),
]


def _network(world: World, organisation: Organisation, creator: Account, *, history_rule: str) -> str:
    keys = keyring_for(world.settings)
    with world.db.transaction() as session:
        child = children.seal(
            session=session,
            cipher=keys.cipher,
            index=keys.index,
            identity=children.ChildIdentity("Standing", "Child", date(2019, 5, 1)),
        )
        network = Network(child_id=child.id, created_by_id=creator.id, history_rule=history_rule)
        session.add(network)
        session.flush()
        return network.id


def _place(world: World, network_id: str, account: Account, kind: tuple[str, str, bool, bool, str]) -> None:
    _, involvement, lead, opened, family = kind
    keys = keyring_for(world.settings)
    with world.db.transaction() as session:
        if involvement != "none":
            row = sealed_facts.new_involvement(
                keys.cipher,
                network_id=network_id,
                account_id=account.id,
                organisation_id=account.organisation_id or "",
                sensitive=False,
                text=sealed_facts.InvolvementText("Role", "Reason", ""),
            )
            row.is_lead = lead
            row.started_at = utcnow() - timedelta(days=3)
            if involvement == "ended":
                row.status, row.ended_at = "ended", utcnow()
            session.add(row)
        if opened:
            session.add(
                HistoryOpening(network_id=network_id, account_id=account.id, opened_by_id=account.id, reason_sealed="")
            )
    if family != "none":
        membership = world.family_member(network_id, account.id)
        if family == "left":
            with world.db.transaction() as session:
                held = session.merge(membership)
                held.active = False


@pytest.mark.parametrize("history_rule", ["from_joining", "full"])
def test_the_one_statement_answers_as_standing_in_does(world: World, history_rule: str) -> None:
    organisation = world.organisation()
    creator = world.account("creator@example.org", organisation=organisation)
    network_id = _network(world, organisation, creator, history_rule=history_rule)
    for n, kind in enumerate(STANDINGS):
        account = world.account(
            f"person{n}@example.org",
            organisation=None if kind[0] == "family" else organisation,
            kind={"practitioner": AccountKind.practitioner, "family": AccountKind.family}.get(
                kind[0], AccountKind.admin
            ),
        )
        _place(world, network_id, account, kind)
        with world.db.transaction() as session:
            network = session.get(Network, network_id)
            assert network is not None
            expected, involvement = standing_in(session, account, network)
        with world.db.transaction() as session:
            if not (expected.member or expected.family_member):
                with pytest.raises(NotFound):
                    notes.standing(session=session, account=account, network_id=network_id)
                continue
            place = notes.standing(session=session, account=account, network_id=network_id)
            assert place.viewer == expected, kind
            assert (place.involvement.id if place.involvement else None) == (involvement.id if involvement else None)
            child = session.get(Child, place.network.child_id)
            assert child is not None and place.child_sealed == child.sealed_identity


def test_a_merged_network_is_followed_and_its_objects_are_the_sessions(world: World) -> None:
    organisation = world.organisation()
    member = world.account("member@example.org", organisation=organisation)
    source = _network(world, organisation, member, history_rule="from_joining")
    target = _network(world, organisation, member, history_rule="from_joining")
    _place(world, target, member, ("practitioner", "active", True, False, "none"))
    with world.db.transaction() as session:
        merged = session.get(Network, source)
        assert merged is not None
        merged.merged_into_id, merged.status = target, "merged"
    with world.db.transaction() as session:
        place = notes.standing(session=session, account=member, network_id=source)
        assert place.network.id == target and place.viewer.is_lead
        assert session.get(Network, target) is place.network
        place.network.history_rule = "full"  # a change to it is saved with the unit of work, as to any loaded row
    with world.db.transaction() as session:
        saved = session.get(Network, target)
        assert saved is not None and saved.history_rule == "full"
        with pytest.raises(NotFound):
            notes.standing(session=session, account=member, network_id="not-a-network-id")
