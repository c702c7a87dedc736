"""Exports of a network as JSON: a lead's holds what that lead may see; a system admin's subject access export holds
everything held about the child and needs the request's reference; every export is audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from patchwork.models import AccountKind
from patchwork.models.audit import AuditEvent
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer
from tests.web.test_access_log import family_member, refuge_worker
from tests.web.test_networks import CHILD
from tests.web.test_notes_api import NOTE

REFERENCE = "SAR-2026-014"


def _exports(world: World) -> dict[str, int]:
    with world.db.transaction() as session:
        rows = session.exec(
            select(AuditEvent.action, func.count())
            .where(AuditEvent.action.in_(("network.exported", "subject_access.exported")))  # type: ignore[attr-defined]
            .group_by(AuditEvent.action)
        ).all()
    return dict(rows)


@pytest.fixture
def record(client: TestClient, world: World, net: dict) -> dict:  # type: ignore[type-arg]
    """A network with notes of every audience, a sensitive member, a family member, and a note's whole history."""
    t, network_id = net["t"], net["id"]
    url = f"/api/v1/networks/{network_id}/notes"
    parent = family_member(world, network_id)
    rita = refuge_worker(client, world, network_id)
    teacher_id = net["members"]["Tom Fletcher"]["user_id"]

    def post(token: str, **changes: object) -> dict:  # type: ignore[type-arg]
        response = client.post(url, json=NOTE | changes, headers=bearer(token))
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    shared = post(t["teacher"], body="Hungry again; shared with mum", family_user_ids=[parent.id])
    secret = post(t["officer"], body="Only for the teacher", audience={"kind": "people", "user_ids": [teacher_id]})
    for_lead = post(t["teacher"], body="For the lead only", audience={"kind": "lead"})
    sensitive = post(rita, body="Mum is staying at the refuge")
    redacted = post(t["teacher"], body="Posted by mistake")
    client.post(
        f"/api/v1/notes/{shared['id']}/revisions", json={"body": "Hungry four days"}, headers=bearer(t["teacher"])
    )
    client.post(
        f"/api/v1/notes/{shared['id']}/replies", json={"body": "Seen at clinic too"}, headers=bearer(t["nurse"])
    )
    client.post(f"/api/v1/notes/{shared['id']}/acknowledgements", headers=bearer(t["officer"]))
    client.post(
        f"/api/v1/notes/{redacted['id']}/redaction", json={"reason": "Wrong child"}, headers=bearer(t["teacher"])
    )
    world.account("root@example.org", kind=AccountKind.admin, name="Root Admin")
    return {
        "net": net,
        "notes": {"shared": shared, "secret": secret, "lead": for_lead, "sensitive": sensitive, "redacted": redacted},
        "admin": api_token(client, "root@example.org", PASSWORD),
        "family": api_token(client, "parent@example.org", PASSWORD),
        "rita": rita,
    }


def test_subject_access_export_holds_everything(client: TestClient, world: World, record: dict) -> None:  # type: ignore[type-arg]
    network_id = record["net"]["id"]
    response = client.get(
        f"/api/v1/networks/{network_id}/export",
        params={"reference": f"  {REFERENCE} "},
        headers=bearer(record["admin"]),
    )
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["kind"] == "subject_access" and doc["reference"] == REFERENCE
    assert doc["exported_by"]["name"] == "Root Admin" and doc["network"]["id"] == network_id
    assert doc["child"]["given_name"] == CHILD["given_name"] and doc["child"]["nhs_number"] == CHILD["nhs_number"]
    assert doc["child"]["postcode"] == "EA1 4QT" and doc["alerts"] == []

    involvements = {i["person"]["name"]: i for i in doc["involvements"]}
    assert involvements["Rita Hidden"]["sensitive"] is True
    assert involvements["Helen Morgan"]["is_lead"] is True
    assert [m["person"]["name"] for m in doc["family_members"]] == ["Pat Parent"]

    by_id = {n["id"]: n for n in doc["notes"]}
    assert set(by_id) == {n["id"] for n in record["notes"].values()}, "every note, whoever may see it"
    shared = by_id[record["notes"]["shared"]["id"]]
    assert shared["body"] == "Hungry four days"
    assert [r["body"] for r in shared["revisions"]] == ["Hungry again; shared with mum", "Hungry four days"]
    assert [(r["author"]["name"], r["body"]) for r in shared["replies"]] == [("Helen Morgan", "Seen at clinic too")]
    assert [a["person"]["name"] for a in shared["acknowledgements"]] == ["Joe Bennett"]
    assert [p["name"] for p in shared["family_shares"]] == ["Pat Parent"]
    assert shared["basis"]["reason"] == "risk_to_child" and shared["redaction"] is None
    redacted = by_id[record["notes"]["redacted"]["id"]]
    assert redacted["body"] == "Posted by mistake", "a redaction hides the body from views; it is still held"
    assert redacted["redaction"]["reason"] == "Wrong child" and redacted["redaction"]["by"]["name"] == "Tom Fletcher"
    assert by_id[record["notes"]["sensitive"]["id"]]["author_sensitive"] is True
    secret = by_id[record["notes"]["secret"]["id"]]
    assert [p["name"] for p in secret["audience"]["people"]] == ["Tom Fletcher"]

    actions = [e["action"] for e in doc["audit_events"]]
    assert "network.created" in actions and "note.redacted" in actions
    own = [e for e in doc["audit_events"] if e["action"] == "subject_access.exported"]
    assert own[-1]["details"] == {"reference": REFERENCE} and own[-1]["actor"]["name"] == "Root Admin"
    assert _exports(world) == {"subject_access.exported": 1}


@pytest.mark.parametrize("params", [{}, {"reference": ""}, {"reference": "   "}, {"reference": "x" * 101}])
def test_an_admin_needs_the_reference(client: TestClient, world: World, record: dict, params: dict) -> None:  # type: ignore[type-arg]
    response = client.get(
        f"/api/v1/networks/{record['net']['id']}/export", params=params, headers=bearer(record["admin"])
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid" and "reference" in response.json()["error"]["fields"]
    assert _exports(world) == {}


def test_a_leads_export_holds_only_what_the_lead_may_see(client: TestClient, world: World, record: dict) -> None:  # type: ignore[type-arg]
    net = record["net"]
    response = client.get(f"/api/v1/networks/{net['id']}/export", headers=bearer(net["t"]["nurse"]))
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["kind"] == "lead" and doc["child"]["family_name"] == CHILD["family_name"]
    bodies = {n["body"] for n in doc["notes"]}
    assert bodies == {"Hungry four days", "For the lead only", "Mum is staying at the refuge", None}
    text = json.dumps(doc)
    assert "Only for the teacher" not in text and record["notes"]["secret"]["id"] not in text
    assert "Posted by mistake" not in text and "Wrong child" not in text, "a redacted body stays hidden from a lead"
    assert {i["name"] for i in doc["involvements"]} >= {"Helen Morgan", "Tom Fletcher", "Rita Hidden"}
    assert doc["family_members"] == [
        {"user_id": doc["family_members"][0]["user_id"], "name": "Pat Parent", "relationship": "Mother"}
    ]
    # A reference changes nothing for a lead.
    again = client.get(f"/api/v1/networks/{net['id']}/export?reference=x", headers=bearer(net["t"]["nurse"]))
    assert again.json()["kind"] == "lead"
    assert _exports(world) == {"network.exported": 2}


def test_a_leads_export_holds_the_access_log_the_lead_may_see(client: TestClient, world: World, record: dict) -> None:  # type: ignore[type-arg]
    net = record["net"]
    lead = bearer(net["t"]["nurse"])
    client.get(f"/api/v1/networks/{net['id']}/notes", headers=bearer(net["t"]["officer"]))
    client.get(f"/api/v1/networks/{net['id']}/notes", headers=bearer(record["rita"]))
    log = client.get(f"/api/v1/networks/{net['id']}/access-log?limit=200", headers=lead).json()["entries"]
    exported = client.get(f"/api/v1/networks/{net['id']}/export", headers=lead).json()["access_log"]
    assert exported == log, "the whole access log, as the lead reads it, newest first"
    assert any(e["actor"]["name"] == "Joe Bennett" and e["kind"] == "notes.viewed" for e in exported)
    assert not any(e["actor"]["name"] == "Rita Hidden" for e in exported), "a sensitive involvement's reads stay out"


def test_everyone_else_is_told_there_is_no_such_network(client: TestClient, world: World, record: dict) -> None:  # type: ignore[type-arg]
    net = record["net"]
    outsider_org = world.organisation("Elsewhere", "housing")
    world.account("out@elsewhere.example.org", organisation=outsider_org)
    missing = client.get(
        "/api/v1/networks/00000000-0000-4000-8000-000000000000/export", headers=bearer(net["t"]["nurse"])
    )
    assert missing.status_code == 404
    url = f"/api/v1/networks/{net['id']}/export?reference={REFERENCE}"
    for who in (
        net["t"]["teacher"],  # a member who is not a lead
        record["rita"],
        record["family"],
        api_token(client, "out@elsewhere.example.org", PASSWORD),
    ):
        refused = client.get(url, headers=bearer(who))
        assert refused.status_code == 404 and refused.json() == missing.json()
    unknown = client.get(
        f"/api/v1/networks/00000000-0000-4000-8000-000000000000/export?reference={REFERENCE}",
        headers=bearer(record["admin"]),
    )
    assert unknown.status_code == 404
    assert client.get(url).status_code == 401
    assert _exports(world) == {}


def test_the_export_is_described_in_openapi(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    export = document["paths"]["/api/v1/networks/{network_id}/export"]["get"]
    schema = export["responses"]["200"]["content"]["application/json"]["schema"]
    root = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in root["anyOf"]} == {"LeadExportOut", "SubjectAccessExport"}
    assert {"404", "422"} <= set(export["responses"])
    log = document["paths"]["/api/v1/networks/{network_id}/access-log"]["get"]
    assert log["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AccessLogOut")
    for name in ("NoteRecord", "RedactionRecord", "AuditRecord", "AccessLogEntryOut"):
        assert name in document["components"]["schemas"], name
