"""A network's last activity, as each member may see it: a note they may not see does not move it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.models.events import NetworkEvent
from patchwork.models.networks import Involvement, Network
from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_notes_api import NOTE

HOUR = timedelta(hours=1)


def _an_hour_ago(world: World) -> None:
    """Everything the fixture did, an hour earlier: what happens now is then told apart to the second."""
    with world.db.transaction() as session:
        for event in session.exec(select(NetworkEvent)).all():
            event.at -= HOUR
        for involvement in session.exec(select(Involvement)).all():
            involvement.started_at -= HOUR
            if involvement.lead_since is not None:
                involvement.lead_since -= HOUR
        for network in session.exec(select(Network)).all():
            network.created_at -= HOUR
            network.last_activity_at -= HOUR


def _last_activity(client: TestClient, net: dict, who: str) -> tuple[str, str]:  # type: ignore[type-arg]
    """What `who` is told of the network's last activity: in the list of their networks, and on the network."""
    listed = client.get("/api/v1/networks", headers=bearer(net["t"][who])).json()["networks"]
    (summary,) = [n for n in listed if n["id"] == net["id"]]
    detail = client.get(f"/api/v1/networks/{net['id']}", headers=bearer(net["t"][who])).json()
    return summary["last_activity_at"], detail["last_activity_at"]


def test_a_note_moves_the_last_activity_only_for_those_who_may_see_it(
    client: TestClient,
    net: dict,  # type: ignore[type-arg]
    world: World,
) -> None:
    _an_hour_ago(world)
    before = {who: _last_activity(client, net, who) for who in ("nurse", "teacher", "officer")}
    url = f"/api/v1/networks/{net['id']}/notes"
    lead_only = client.post(url, json=NOTE | {"audience": {"kind": "lead"}}, headers=bearer(net["t"]["officer"]))
    assert lead_only.status_code == 201, lead_only.text
    after = {who: _last_activity(client, net, who) for who in ("nurse", "teacher", "officer")}
    assert after["teacher"] == before["teacher"], "a lead-only note must not tell the teacher that something happened"
    assert after["nurse"] != before["nurse"], "the lead sees it"
    assert after["officer"] != before["officer"], "its author sees it"
    everyone = client.post(url, json=NOTE, headers=bearer(net["t"]["officer"]))
    assert everyone.status_code == 201, everyone.text
    assert _last_activity(client, net, "teacher") != before["teacher"], "a note for the network moves it for all"


def test_what_a_member_is_told_is_not_the_networks_own_last_activity(
    client: TestClient,
    net: dict,  # type: ignore[type-arg]
    world: World,
) -> None:
    _an_hour_ago(world)
    before = _last_activity(client, net, "teacher")
    with world.db.transaction() as session:  # as if something the teacher may not see had just happened
        network = session.get(Network, net["id"])
        assert network is not None
        network.last_activity_at += 2 * HOUR
    assert _last_activity(client, net, "teacher") == before
