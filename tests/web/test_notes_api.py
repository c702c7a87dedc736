"""The notes API: shapes from SPEC section 8, the rules, and every kind of bad input leaving nothing behind."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from patchwork.models.audit import AuditEvent
from patchwork.models.notes import Acknowledgement, Note, NoteReply
from tests.conftest import World
from tests.helpers import bearer

NOTE = {
    "body": "Came to school hungry three days running.",
    "category": "hunger_nutrition",
    "level": "concern",
    "observed_on": "2026-11-01",
    "audience": {"kind": "network"},
    "family_user_ids": [],
    "basis": {"kind": "without_consent", "reason": "risk_to_child", "justification": "Parent is the concern."},
}


def _error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def _count(world: World, model: type) -> int:  # type: ignore[type-arg]
    with world.db.transaction() as session:
        return session.exec(select(func.count()).select_from(model)).one()  # type: ignore[no-any-return]


def test_post_and_list_with_audiences(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    created = client.post(url, json=NOTE, headers=bearer(t["teacher"]))
    assert created.status_code == 201, created.text
    note = created.json()
    assert note["network_id"] == net["id"] and note["body"] == NOTE["body"] and note["author"]["name"] == "Tom Fletcher"
    assert note["basis"]["reason"] == "risk_to_child" and note["revisions"] == [] and note["redacted"] is False
    lead_only = client.post(
        url, json=NOTE | {"body": "For the lead", "audience": {"kind": "lead"}}, headers=bearer(t["teacher"])
    )
    police_org = net["members"]["Joe Bennett"]["organisation"]["id"]
    police_only = client.post(
        url,
        json=NOTE | {"body": "For the police", "audience": {"kind": "organisations", "organisation_ids": [police_org]}},
        headers=bearer(t["teacher"]),
    )
    assert lead_only.status_code == police_only.status_code == 201
    seen = {
        who: [n["body"] for n in client.get(url, headers=bearer(t[who])).json()["notes"]]
        for who in ("nurse", "teacher", "officer")
    }
    assert seen["nurse"] == ["For the lead", NOTE["body"]]
    assert seen["teacher"] == ["For the police", "For the lead", NOTE["body"]]
    assert seen["officer"] == ["For the police", NOTE["body"]]
    assert client.get(f"/api/v1/notes/{lead_only.json()['id']}", headers=bearer(t["officer"])).status_code == 404


def test_paging_with_opaque_cursor(client: TestClient, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    for n in range(5):
        client.post(url, json=NOTE | {"body": f"note {n}"}, headers=bearer(t["teacher"]))
    first = client.get(f"{url}?limit=2", headers=bearer(t["nurse"])).json()
    assert [n["body"] for n in first["notes"]] == ["note 4", "note 3"] and first["next"]
    second = client.get(f"{url}?limit=2&before={first['next']}", headers=bearer(t["nurse"])).json()
    assert [n["body"] for n in second["notes"]] == ["note 2", "note 1"]
    _error(client.get(f"{url}?before=%%%garbage", headers=bearer(t["nurse"])), 422, "invalid")


def test_urgent_needs_the_referral_route_acknowledged(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t, url = net["t"], f"/api/v1/networks/{net['id']}/notes"
    refused = _error(
        client.post(url, json=NOTE | {"level": "urgent"}, headers=bearer(t["teacher"])),
        422,
        "referral_route_not_acknowledged",
    )
    assert "999" in refused["message"]
    assert _count(world, Note) == 0
    ok = client.post(
        url, json=NOTE | {"level": "urgent", "referral_route_acknowledged": True}, headers=bearer(t["teacher"])
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"category": "gossip"}, "category"),
        ({"level": "mild"}, "level"),
        ({"observed_on": (date.today() + timedelta(days=2)).isoformat()}, "observed_on"),
        ({"observed_on": "2026-02-30"}, "observed_on"),
        ({"observed_on": "0001-01-01"}, "observed_on"),
        ({"observed_on": "2017-03-26"}, "observed_on"),  # the day before the child was born
        ({"audience": {"kind": "people", "user_ids": []}}, "user_ids"),
        ({"audience": {"kind": "people", "user_ids": ["00000000-0000-0000-0000-000000000000"]}}, "user_ids"),
        (
            {"audience": {"kind": "organisations", "organisation_ids": ["00000000-0000-0000-0000-000000000000"]}},
            "organisation_ids",
        ),
        ({"family_user_ids": ["00000000-0000-0000-0000-000000000000"]}, "family_user_ids"),
        ({"basis": {"kind": "without_consent"}}, "reason"),
        ({"basis": {"kind": "without_consent", "reason": "risk_to_child"}}, "justification"),
        ({"basis": {"kind": "consent"}}, "consent_from"),
    ],
)
def test_bad_notes_are_refused_and_nothing_is_written(
    client: TestClient, world: World, net: dict, change: dict, field: str
) -> None:  # type: ignore[type-arg]
    events = _count(world, AuditEvent)
    problem = _error(
        client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE | change, headers=bearer(net["t"]["teacher"])),
        422,
        "invalid",
    )
    assert field in problem["fields"]
    assert _count(world, Note) == 0 and _count(world, AuditEvent) == events


def test_revise_redact_reply_acknowledge(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t = net["t"]
    note = client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(t["teacher"])).json()
    url = f"/api/v1/notes/{note['id']}"
    _error(client.post(f"{url}/revisions", json={"body": "hijack"}, headers=bearer(t["officer"])), 403, "not_author")
    revised = client.post(
        f"{url}/revisions", json={"body": "Hungry four days running."}, headers=bearer(t["teacher"])
    ).json()
    assert revised["body"] == "Hungry four days running." and revised["edited"]
    assert [r["body"] for r in revised["revisions"]] == [NOTE["body"], "Hungry four days running."]
    replied = client.post(f"{url}/replies", json={"body": "Seen at clinic too."}, headers=bearer(t["nurse"])).json()
    assert replied["replies"][0]["body"] == "Seen at clinic too."
    assert client.post(f"{url}/acknowledgements", headers=bearer(t["officer"])).status_code == 201
    _error(client.post(f"{url}/acknowledgements", headers=bearer(t["officer"])), 409, "already_acknowledged")
    _error(client.post(f"{url}/acknowledgements", headers=bearer(t["teacher"])), 403, "not_permitted")
    as_author = client.get(url, headers=bearer(t["teacher"])).json()
    as_other = client.get(url, headers=bearer(t["officer"])).json()
    assert as_author["acknowledged_by"] == ["Joe Bennett"]
    assert as_other["acknowledged_by"] is None and as_other["acknowledged_by_me"] is True
    _error(client.post(f"{url}/redaction", json={"reason": "x"}, headers=bearer(t["officer"])), 403, "not_permitted")
    _error(client.post(f"{url}/redaction", json={"reason": ""}, headers=bearer(t["nurse"])), 422, "invalid")
    redacted = client.post(f"{url}/redaction", json={"reason": "Wrong child"}, headers=bearer(t["nurse"])).json()
    assert redacted["redacted"] and redacted["body"] is None and all(r["body"] is None for r in redacted["revisions"])
    assert redacted["redaction"]["by"] == "Helen Morgan" and "Wrong child" not in str(redacted)
    shown = client.get(f"/api/v1/notes/{note['id']}", headers=bearer(t["teacher"])).json()
    assert shown["redaction"]["by"] == "Helen Morgan" and shown["redaction"]["at"], "who and when"
    _error(client.post(f"{url}/replies", json={"body": "more"}, headers=bearer(t["nurse"])), 409, "note_redacted")
    _error(client.post(f"{url}/acknowledgements", headers=bearer(t["nurse"])), 409, "note_redacted")
    _error(
        client.post(f"{url}/redaction", json={"reason": "again"}, headers=bearer(t["nurse"])), 409, "already_redacted"
    )
    assert _count(world, NoteReply) == 1 and _count(world, Acknowledgement) == 1


def late_comer(client: TestClient, world: World, net: dict) -> tuple[str, dict]:  # type: ignore[type-arg]
    """A teaching assistant from the school who joins the network now: their token and their involvement."""
    from patchwork.models import Organisation
    from tests.conftest import PASSWORD
    from tests.helpers import api_token

    with world.db.transaction() as session:
        school = session.exec(select(Organisation).where(Organisation.name == "Oakfield Primary")).one()
    world.account("late@school.example.org", organisation=school, name="Late Comer")
    late = api_token(client, "late@school.example.org", PASSWORD)
    joined = client.post(
        f"/api/v1/networks/{net['id']}/involvements", json={"role_label": "TA", "reason": "x"}, headers=bearer(late)
    ).json()
    return late, joined


def test_history_rule_and_opening(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    t = net["t"]
    client.post(f"/api/v1/networks/{net['id']}/notes", json=NOTE, headers=bearer(t["teacher"]))
    late, joined = late_comer(client, world, net)
    url = f"/api/v1/networks/{net['id']}/notes"
    assert client.get(url, headers=bearer(late)).json()["notes"] == []
    _error(
        client.post(
            f"/api/v1/networks/{net['id']}/history-openings",
            json={"user_id": joined["user_id"], "reason": "x"},
            headers=bearer(t["teacher"]),
        ),
        403,
        "not_lead",
    )
    opened = client.post(
        f"/api/v1/networks/{net['id']}/history-openings",
        json={"user_id": joined["user_id"], "reason": "Needs the background"},
        headers=bearer(t["nurse"]),
    )
    assert opened.status_code == 201
    assert [n["body"] for n in client.get(url, headers=bearer(late)).json()["notes"]] == [NOTE["body"]]


def test_family_voice_and_family_sharing(client: TestClient, world: World, net: dict) -> None:  # type: ignore[type-arg]
    from tests.conftest import PASSWORD
    from tests.helpers import api_token

    parent = world.account("parent@example.org", kind="family", name="Pat Parent")
    world.family_member(net["id"], parent.id, "Mother")
    t = net["t"]
    url = f"/api/v1/networks/{net['id']}/notes"
    shared = client.post(
        url, json=NOTE | {"body": "Shared with mum", "family_user_ids": [parent.id]}, headers=bearer(t["teacher"])
    ).json()
    assert shared["family_sharing"] == "Shared with Pat Parent (Mother)"
    client.post(url, json=NOTE | {"body": "Not shared"}, headers=bearer(t["teacher"]))
    family = api_token(client, "parent@example.org", PASSWORD)
    voice = client.post(url, json={"body": "Our side of the story"}, headers=bearer(family))
    assert voice.status_code == 201 and voice.json()["kind"] == "family_voice"
    _error(client.post(url, json={"body": "x" * 4001}, headers=bearer(family)), 422, "invalid")
    seen = [n["body"] for n in client.get(url, headers=bearer(family)).json()["notes"]]
    assert seen == ["Our side of the story", "Shared with mum"]
    assert client.get(url, headers=bearer(family)).json()["notes"][1]["basis"] is None
    assert "Our side of the story" in [n["body"] for n in client.get(url, headers=bearer(t["officer"])).json()["notes"]]


def test_family_cannot_filter_by_organisation(client: TestClient, world: World, net: dict, settings) -> None:  # type: ignore[no-untyped-def,type-arg]
    """An organisation filter could tell a family member who wrote a note whose author is hidden from them."""
    from patchwork.runtime import keyring_for
    from patchwork.services import notes

    parent = world.account("parent@example.org", kind="family", name="Pat Parent")
    world.family_member(net["id"], parent.id, "Mother")
    shared = NOTE | {"family_user_ids": [parent.id]}
    client.post(f"/api/v1/networks/{net['id']}/notes", json=shared, headers=bearer(net["t"]["teacher"]))
    police_org = net["members"]["Joe Bennett"]["organisation"]["id"]
    keys = keyring_for(settings)
    with world.db.transaction() as session:
        family = session.get(type(parent), parent.id)
        assert family is not None
        everything = notes.chronology(
            session=session, keys=keys, account=family, network_id=net["id"], filters=notes.ChronologyFilters()
        )
        filtered = notes.chronology(
            session=session,
            keys=keys,
            account=family,
            network_id=net["id"],
            filters=notes.ChronologyFilters(organisation_ids=frozenset({police_org})),
        )
    assert len(everything) == 1
    assert [v.note.id for v in filtered] == [v.note.id for v in everything]
