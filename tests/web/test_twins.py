"""Twins: a second child with the same date of birth and a similar name can have a network, once a practitioner
says what tells them apart and why; it is audited, and the two networks are linked for their leads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import select
from starlette.testclient import TestClient

from patchwork.models.audit import AuditEvent
from tests.conftest import World
from tests.helpers import bearer, csrf_from, sign_in
from tests.web.test_networks import START

TWIN = {"given_name": "Mia", "family_name": "Thompson", "date_of_birth": "2017-03-27"}  # START's child is Maya
DIFFERENT = {"detail": "Twin sister: Mia, not Maya", "reason": "Both are in Year 3; their mother told me"}


def _start_twin(client: TestClient, token: str, **more: Any):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/networks", json=START | {"child": TWIN} | more, headers=bearer(token))


def _count(world: World, table: str) -> int:
    with world.db.transaction() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_twin_is_refused_then_started_as_a_different_child_and_linked(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    refused = _start_twin(client, t["teacher"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "possible_duplicate"
    assert "different_child" in refused.json()["error"]["message"]
    networks_before = _count(world, "network")

    for bad, field in (
        ({"detail": "", "reason": "x"}, "different_child_detail"),
        ({"detail": "x", "reason": " "}, "different_child_reason"),
    ):
        invalid = _start_twin(client, t["teacher"], different_child=bad)
        assert invalid.status_code == 422 and field in invalid.json()["error"]["fields"], invalid.text
    long = _start_twin(client, t["teacher"], different_child={"detail": "x" * 201, "reason": "x"})
    assert long.status_code == 422 and "different_child_detail" in long.json()["error"]["fields"]
    assert _count(world, "network") == networks_before, "nothing half-written"

    started = _start_twin(client, t["teacher"], different_child=DIFFERENT)
    assert started.status_code == 201, started.text
    twin = started.json()
    assert twin["linked_networks"] == [], "the teacher is not a lead of the twin's network yet"
    teacher_id = twin["involvements"][0]["user_id"]
    client.post(f"/api/v1/networks/{twin['id']}/leads", json={"user_id": teacher_id}, headers=bearer(t["teacher"]))

    as_lead = client.get(f"/api/v1/networks/{twin['id']}", headers=bearer(t["teacher"])).json()["linked_networks"]
    assert [(n["network_id"], n["detail"], n["reason"], n["may_open"]) for n in as_lead] == [
        (net["id"], DIFFERENT["detail"], DIFFERENT["reason"], True)
    ], "the teacher belongs to Maya's network too"
    other_lead = client.get(f"/api/v1/networks/{net['id']}", headers=bearer(t["nurse"])).json()["linked_networks"]
    assert [(n["network_id"], n["may_open"]) for n in other_lead] == [(twin["id"], False)]
    not_lead = client.get(f"/api/v1/networks/{net['id']}", headers=bearer(t["officer"])).json()
    assert not_lead["linked_networks"] == [], "only leads see linked networks"

    sign_in(client, "nurse@health.example.org", "correct horse battery staple")
    page = client.get(f"/networks/{net['id']}").text
    assert "Linked networks" in page and "Twin sister: Mia, not Maya" in page and "(you are not a member)" in page
    sign_in(client, "officer@police.example.org", "correct horse battery staple")
    assert "Linked networks" not in client.get(f"/networks/{net['id']}").text

    with world.db.transaction() as session:
        declared = session.exec(select(AuditEvent).where(AuditEvent.action == "network.declared_different_child")).all()
        assert {(e.network_id, e.target_id) for e in declared} == {(twin["id"], net["id"]), (net["id"], twin["id"])}
        sealed = session.execute(text("SELECT detail_sealed, reason_sealed FROM network_link")).all()
    assert len(sealed) == 1 and "Mia" not in str(sealed) and "Year 3" not in str(sealed), "sealed at rest"


def test_the_same_nhs_number_is_the_same_child_whatever_is_declared(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    with_nhs = {"given_name": "Ava", "family_name": "Reid", "date_of_birth": "2015-01-02", "nhs_number": "4010232137"}
    first = client.post("/api/v1/networks", json=START | {"child": with_nhs}, headers=bearer(t["teacher"]))
    assert first.status_code == 201, first.text
    again = client.post(
        "/api/v1/networks",
        json=START | {"child": with_nhs | {"given_name": "Eva"}, "different_child": DIFFERENT},
        headers=bearer(t["officer"]),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "same_nhs_number", again.text


def test_the_page_offers_a_different_child_and_keeps_what_was_typed(client: TestClient, net: dict[str, Any]) -> None:
    sign_in(client, "teacher@school.example.org", "correct horse battery staple")
    fields = {
        "given_name": "Mia",
        "family_name": "Thompson",
        "dob_day": "27",
        "dob_month": "3",
        "dob_year": "2017",
        "role_label": "Class teacher",
        "reason": "Teaches both twins",
    }
    token = csrf_from(client.get("/networks/new").text)
    refused = client.post("/networks/new", data={"csrf_token": token, **fields})
    assert refused.status_code == 409 and "This is a different child with similar details" in refused.text
    assert 'value="Class teacher"' in refused.text
    token = csrf_from(refused.text)
    missing = client.post(
        "/networks/new",
        data={"csrf_token": token, **fields, "different_child": "yes", "different_child_detail": "Twin sister"},
    )
    assert missing.status_code == 422 and "Enter why you are sure this is a different child" in missing.text.replace(
        "\n", " "
    ), missing.text[-3000:]
    assert "Twin sister" in missing.text, "what was typed is kept"
    token = csrf_from(missing.text)
    started = client.post(
        "/networks/new",
        data={
            "csrf_token": token,
            **fields,
            "different_child": "yes",
            "different_child_detail": "Twin sister",
            "different_child_reason": "Known to me",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
