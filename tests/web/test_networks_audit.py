"""Every search, network view, involvement change, lead change and merge is audited; nothing identifies the child."""

from __future__ import annotations

import json

from sqlmodel import col, select
from starlette.testclient import TestClient

from patchwork.models import AccountKind
from patchwork.models.audit import AuditEvent
from patchwork.runtime import keyring_for
from patchwork.services import audit
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, post_form, sign_in
from tests.web.test_networks import CHILD, START, _people, _tokens


def test_actions_write_a_verifiable_trail_without_identifiers(
    client: TestClient, world: World, settings, caplog
) -> None:  # type: ignore[no-untyped-def]
    _people(world)
    world.account("root@example.org", kind=AccountKind.admin)
    with caplog.at_level("DEBUG", logger="patchwork"):
        t = _tokens(client)
        network = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
        search = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
        client.post("/api/v1/children/search", json=search, headers=bearer(t["teacher"]))
        joined = client.post(
            f"/api/v1/networks/{network['id']}/involvements",
            json={"role_label": "Teacher", "reason": "x"},
            headers=bearer(t["teacher"]),
        ).json()
        client.get(f"/api/v1/networks/{network['id']}", headers=bearer(t["teacher"]))
        nurse_id = network["involvements"][0]["user_id"]
        client.post(f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"]))
        client.delete(f"/api/v1/networks/{network['id']}/involvements/{joined['id']}", headers=bearer(t["nurse"]))
        other = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "2016-05-05"}
        second = client.post("/api/v1/networks", json=START | {"child": other}, headers=bearer(t["officer"])).json()
        admin = api_token(client, "root@example.org", PASSWORD)
        client.post(
            "/api/v1/networks/merges",
            json={"source_id": second["id"], "target_id": network["id"], "reason": "Duplicate"},
            headers=bearer(admin),
        )
    with world.db.transaction() as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        actions = [e.action for e in events]
        for expected in (
            "network.created",
            "involvement.added",
            "child.searched",
            "network.viewed",
            "lead.appointed",
            "involvement.ended",
            "network.merged",
        ):
            assert expected in actions, expected
        searched = next(e for e in events if e.action == "child.searched")
        assert searched.network_id == network["id"] and json.loads(searched.details) == {"matched": True}
        result = audit.verify(session=session, key=keyring_for(settings).audit)
        assert result.ok and result.events_checked == len(events)
    everything = " ".join(f"{e.details} {e.target_id}" for e in events) + caplog.text
    for secret in (CHILD["given_name"], CHILD["family_name"], CHILD["nhs_number"], "2017-03-27", "Sam", "Jones"):
        assert secret not in everything, secret


def test_search_page_keeps_identifiers_out_of_urls_and_titles(client: TestClient, world: World) -> None:
    _people(world)
    t = _tokens(client)
    client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"]))
    sign_in(client, "teacher@school.example.org", PASSWORD)
    response = post_form(
        client,
        "/search",
        {"family_name": "Thompson", "given_name": "Maya", "dob_day": "27", "dob_month": "3", "dob_year": "2017"},
    )
    assert response.status_code == 200 and "A network was found" in response.text
    assert str(response.url).endswith("/search")
    title = response.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Maya" not in title and "Thompson" not in title
    for link in response.text.split('href="')[1:]:
        href = link.split('"', 1)[0]
        assert "Maya" not in href and "Thompson" not in href and "2017" not in href


def test_admin_reads_the_trail_and_the_reading_is_recorded(client: TestClient, world: World) -> None:
    _people(world)
    world.account("root@example.org", kind=AccountKind.admin, name="Root Admin")
    t = _tokens(client)
    client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"]))
    sign_in(client, "root@example.org", PASSWORD)
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "Started a network" in page.text and "Helen Morgan" in page.text
    with world.db.transaction() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "audit.read")).first() is not None


def test_practitioner_cannot_read_the_trail(client: TestClient, world: World) -> None:
    _people(world)
    sign_in(client, "nurse@health.example.org", PASSWORD)
    assert client.get("/admin/audit").status_code == 404
