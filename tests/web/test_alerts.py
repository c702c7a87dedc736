"""Alerts through the API: raised in the transaction that posts, revises or redacts a note, shown to each lead by
the rule over the notes that lead may see, acknowledged and resolved; escalation on a controllable clock; the
no lead alert and the escalation as organisation admins see them. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlmodel import col, func, select
from starlette.testclient import TestClient

from patchwork.clock import utcnow
from patchwork.models import Organisation
from patchwork.models.alerts import Alert
from patchwork.models.audit import AuditEvent
from patchwork.runtime import keyring_for
from patchwork.services import alerts
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer
from tests.web.test_notes_api import NOTE

CONCERN = NOTE | {"level": "concern", "observed_on": "2026-11-01"}
THRESHOLDS = alerts.policy.AlertThresholds()


def _post(client: TestClient, net: dict[str, Any], who: str, **changes: Any) -> str:
    answer = client.post(f"/api/v1/networks/{net['id']}/notes", json=CONCERN | changes, headers=bearer(net["t"][who]))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _alerts(client: TestClient, token: str, **params: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/alerts", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["alerts"])


def _count(world: World, **where: Any) -> int:
    with world.db.transaction() as session:
        query = select(func.count()).select_from(Alert)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        return int(session.exec(query).one())


def test_concerns_from_two_organisations_raise_one_alert_for_the_lead(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    first = _post(client, net, "teacher", observed_on="2026-10-05")
    _post(client, net, "teacher", level="observation", observed_on="2026-10-06")  # below the threshold
    second = _post(client, net, "teacher", observed_on="2026-10-20")
    assert _alerts(client, t["nurse"]) == [], "two notes from one organisation are not enough"
    third = _post(client, net, "officer", observed_on="2026-11-03")  # day 30 of a window from 5 October
    shown = _alerts(client, t["nurse"])
    assert [(a["kind"], a["state"], sorted(a["note_ids"])) for a in shown] == [
        ("accumulation", "open", sorted([first, second, third]))
    ]
    assert shown[0]["reason"].startswith("3 concerns from 2 organisations in 30 days (")
    assert "Oakfield Primary" in shown[0]["reason"] and shown[0]["network_id"] == net["id"]
    assert _alerts(client, t["teacher"]) == [] and _alerts(client, t["officer"]) == [], "alerts are for leads"
    fourth = _post(client, net, "officer", observed_on="2026-11-04")
    again = _alerts(client, t["nurse"])
    assert len(again) == 1 and fourth in again[0]["note_ids"], "an open alert is updated, never duplicated"
    assert _count(world) == 1


def test_the_window_is_by_date_observed_and_31_days_is_too_far(client: TestClient, net: dict[str, Any]) -> None:
    _post(client, net, "teacher", observed_on="2026-10-01")
    _post(client, net, "teacher", observed_on="2026-10-15")
    _post(client, net, "officer", observed_on="2026-10-31")  # day 31
    assert _alerts(client, net["t"]["nurse"]) == []


def test_redacted_and_revised_down_notes_stop_counting(client: TestClient, world: World, net: dict[str, Any]) -> None:
    t = net["t"]
    ids = [_post(client, net, who) for who in ("teacher", "teacher", "officer")]
    assert len(_alerts(client, t["nurse"])) == 1
    lowered = client.post(
        f"/api/v1/notes/{ids[2]}/revisions",
        json={"body": "On reflection", "level": "observation"},
        headers=bearer(t["officer"]),
    )
    assert lowered.status_code == 201, lowered.text
    assert _alerts(client, t["nurse"]) == [], "a note revised to a lower level stops counting"
    raised_again = client.post(
        f"/api/v1/notes/{ids[2]}/revisions",
        json={"body": "It is a concern", "level": "concern"},
        headers=bearer(t["officer"]),
    )
    assert raised_again.status_code == 201
    assert len(_alerts(client, t["nurse"])) == 1 and _count(world) == 1, "the same open alert, not a second"
    redacted = client.post(
        f"/api/v1/notes/{ids[0]}/redaction", json={"reason": "Wrong child"}, headers=bearer(t["teacher"])
    )
    assert redacted.status_code == 201, redacted.text
    assert _alerts(client, t["nurse"]) == [], "a redacted note stops counting"


def test_resolving_needs_an_outcome_and_a_new_note_raises_a_new_alert(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    for who in ("teacher", "teacher", "officer"):
        _post(client, net, who)
    alert = _alerts(client, t["nurse"])[0]
    url = f"/api/v1/alerts/{alert['id']}"
    for body, field in (({}, "outcome"), ({"outcome": "shrug"}, "outcome"), ({"outcome": "other"}, "text")):
        refused = client.post(f"{url}/resolution", json=body, headers=bearer(t["nurse"]))
        assert refused.status_code == 422 and field in refused.json()["error"]["fields"], refused.text
    assert _alerts(client, t["nurse"])[0]["state"] == "open", "nothing changed"
    first = client.post(f"{url}/acknowledgement", headers=bearer(t["nurse"]))
    second = client.post(f"{url}/acknowledgement", headers=bearer(t["nurse"]))
    assert (
        first.status_code == second.status_code == 200
        and first.json()["acknowledged_at"] == second.json()["acknowledged_at"]
    )
    with world.db.transaction() as session:
        updates = session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "alert.updated", AuditEvent.target_id == alert["id"])
        ).one()
    assert updates == 1, "acknowledging twice is counted once"
    resolved = client.post(
        f"{url}/resolution", json={"outcome": "other", "text": "Talked to the family"}, headers=bearer(t["nurse"])
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved" and resolved.json()["outcome_text"] == "Talked to the family"
    again = client.post(f"{url}/resolution", json={"outcome": "no_further_action"}, headers=bearer(t["nurse"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_resolved"
    assert _alerts(client, t["nurse"], state="open") == []
    client.post(
        f"/api/v1/notes/{alert['note_ids'][0]}/revisions", json={"body": "edited"}, headers=bearer(t["teacher"])
    )
    assert _alerts(client, t["nurse"], state="open") == [], "the same notes do not raise it again"
    _post(client, net, "officer", observed_on="2026-11-02")
    fresh = _alerts(client, t["nurse"], state="open")
    assert len(fresh) == 1 and fresh[0]["id"] != alert["id"], "a new qualifying note raises a new alert"
    assert [a["state"] for a in _alerts(client, t["nurse"])] == ["open", "resolved"], "newest first; history kept"
    assert client.get("/api/v1/alerts", params={"state": "shut"}, headers=bearer(t["nurse"])).status_code == 422


def test_each_lead_is_shown_the_rule_over_the_notes_they_may_see(client: TestClient, net: dict[str, Any]) -> None:
    t = net["t"]
    officer_id = net["members"]["Joe Bennett"]["user_id"]
    nurse_id = net["members"]["Helen Morgan"]["user_id"]
    client.post(f"/api/v1/networks/{net['id']}/leads", json={"user_id": officer_id}, headers=bearer(t["nurse"]))
    only_nurse = {"kind": "people", "user_ids": [nurse_id]}
    _post(client, net, "teacher", audience=only_nurse)
    _post(client, net, "teacher")
    _post(client, net, "nurse", observed_on="2026-11-02")
    nurse_sees = _alerts(client, t["nurse"])
    assert len(nurse_sees) == 1 and len(nurse_sees[0]["note_ids"]) == 3
    assert _alerts(client, t["officer"]) == [], "two of the three notes the officer may see: no alert, no sign of one"
    hidden = client.get(f"/api/v1/alerts/{nurse_sees[0]['id']}", headers=bearer(t["officer"]))
    missing = client.get("/api/v1/alerts/00000000-0000-0000-0000-000000000000", headers=bearer(t["officer"]))
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    refused = client.post(f"/api/v1/alerts/{nurse_sees[0]['id']}/acknowledgement", headers=bearer(t["officer"]))
    assert refused.status_code == 404
    _post(client, net, "officer", observed_on="2026-11-03")
    officer_sees = _alerts(client, t["officer"])
    assert len(officer_sees) == 1 and len(officer_sees[0]["note_ids"]) == 3, "now the rule holds for the officer"
    assert set(officer_sees[0]["note_ids"]) < set(_alerts(client, t["nurse"])[0]["note_ids"])
    assert officer_sees[0]["reason"].startswith("3 concerns")


def test_an_urgent_note_alerts_the_lead_and_a_network_without_one_alerts_admins(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    t = net["t"]
    with world.db.transaction() as session:
        school = session.exec(select(Organisation).where(Organisation.name == "Oakfield Primary")).one()
    world.account("head@school.example.org", organisation=school, org_admin=True, name="Hannah Head")
    head = api_token(client, "head@school.example.org", PASSWORD)
    urgent = _post(client, net, "teacher", level="urgent", referral_route_acknowledged=True)
    shown = _alerts(client, t["nurse"])
    assert [(a["kind"], a["note_ids"]) for a in shown] == [("urgent", [urgent])]
    assert "An urgent note from Oakfield Primary" in shown[0]["reason"]
    assert _alerts(client, head) == [], "there is a lead: the admin is not told"

    client.delete(f"/api/v1/networks/{net['id']}/leads/me", headers=bearer(t["nurse"]))
    _post(client, net, "teacher", level="urgent", referral_route_acknowledged=True)
    admin_sees = _alerts(client, head)
    assert [a["kind"] for a in admin_sees] == ["no_lead"]
    assert admin_sees[0]["note_ids"] == [] and "Tom Fletcher" in admin_sees[0]["reason"]
    for secret in ("Maya", "Thompson", "Hunger", "hungry", "Northgate", "Joe Bennett"):
        assert secret not in admin_sees[0]["reason"], f"an admin learns nothing else: {secret}"
    resolved = client.post(
        f"/api/v1/alerts/{admin_sees[0]['id']}/resolution",
        json={"outcome": "discussed_with_network"},
        headers=bearer(head),
    )
    assert resolved.status_code == 200, resolved.text


def test_escalation_on_a_controllable_clock(client: TestClient, world: World, settings, net: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    t = net["t"]
    keys = keyring_for(settings)
    with world.db.transaction() as session:
        school = session.exec(select(Organisation).where(Organisation.name == "Oakfield Primary")).one()
    world.account("head@school.example.org", organisation=school, org_admin=True, name="Hannah Head")
    head = api_token(client, "head@school.example.org", PASSWORD)
    waiting = _post(client, net, "teacher", level="urgent", referral_route_acknowledged=True)
    seen_to = _post(client, net, "teacher", level="urgent", referral_route_acknowledged=True, body="Another")
    client.post(f"/api/v1/notes/{seen_to}/acknowledgements", headers=bearer(t["nurse"]))

    def tick(minutes_later: float) -> int:
        now = utcnow() + timedelta(minutes=minutes_later)
        with world.db.transaction() as session:
            return alerts.escalate_overdue(session=session, keys=keys, now=now, minutes=240, thresholds=THRESHOLDS)

    assert tick(239) == 0, "not yet"
    assert tick(241) == 1, "the unacknowledged one escalates; the one a lead acknowledged does not"
    assert tick(300) == 0, "once"
    escalations = [a for a in _alerts(client, t["nurse"]) if a["kind"] == "escalation"]
    assert [a["note_ids"] for a in escalations] == [[waiting]]
    admin = _alerts(client, head)
    assert [a["kind"] for a in admin] == ["escalation"] and "4 hours" in admin[0]["reason"]
    acknowledged = client.post(f"/api/v1/alerts/{admin[0]['id']}/acknowledgement", headers=bearer(head))
    assert acknowledged.status_code == 200
    refused = client.post(
        f"/api/v1/alerts/{admin[0]['id']}/resolution", json={"outcome": "no_further_action"}, headers=bearer(head)
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_permitted", (
        "the outcome is the lead's"
    )
    assert _count(world, kind="escalation") == 1


def test_two_transactions_racing_raise_one_alert(
    world: World, settings, net: dict[str, Any], client: TestClient
) -> None:  # type: ignore[no-untyped-def]
    """Two processes evaluating the same network at once (here two threads, each its own connection): the unique
    key lets one insert win and the other do nothing, on SQLite and on PostgreSQL."""
    for who in ("teacher", "teacher", "officer"):
        _post(client, net, who)
    with world.db.transaction() as session:
        session.exec(select(Alert)).one().dedupe_key = None  # as if resolved: the next evaluation raises anew
        first = session.exec(select(Alert)).one()
        first.state, first.resolved_at = "resolved", utcnow() - timedelta(days=1)
    keys = keyring_for(settings)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            with world.db.transaction() as session:
                barrier.wait(timeout=10)
                alerts.evaluate(session=session, keys=keys, network_id=net["id"], thresholds=THRESHOLDS, actor_id=None)  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not [e for e in errors if "database is locked" not in str(e)], errors
    assert _count(world, state="open") == 1, "exactly one new alert, whichever got there first"
    with world.db.transaction() as session:
        assert len(session.exec(select(Alert).where(col(Alert.dedupe_key).is_not(None))).all()) == 1


def test_alert_events_reach_only_those_shown_the_alert(client: TestClient, net: dict[str, Any]) -> None:
    from tests.web.test_stream import streaming

    t = net["t"]
    url = f"/api/v1/networks/{net['id']}/events"
    with streaming(client, t["nurse"]) as nurse, streaming(client, t["teacher"]) as teacher:
        nurse.socket.send_json({"type": "resume", "cursors": {}})
        teacher.socket.send_json({"type": "resume", "cursors": {}})
        for who in ("teacher", "teacher", "officer"):
            _post(client, net, who)
        frames = [nurse.next() for _ in range(4)]
        raised = [f for f in frames if f["type"] == "alert.raised"]
        assert len(raised) == 1 and set(raised[0]["data"]) == {"alert_id"}, "the facts, nothing that steers delivery"
        teacher_types = [teacher.next()["type"] for _ in range(3)]
        assert teacher_types == ["note.created"] * 3 and teacher.nothing_for(0.3)
    alert_id = raised[0]["data"]["alert_id"]
    lead_events = client.get(url, headers=bearer(t["nurse"])).json()["events"]
    assert {"type": "alert.raised", "data": {"alert_id": alert_id}}.items() <= {
        k: v for e in lead_events if e["type"] == "alert.raised" for k, v in e.items()
    }.items()
    member_events = client.get(url, headers=bearer(t["teacher"])).json()["events"]
    assert not [e for e in member_events if e["type"].startswith("alert.")]
    client.post(f"/api/v1/alerts/{alert_id}/acknowledgement", headers=bearer(t["nurse"]))
    updated = [e for e in client.get(url, headers=bearer(t["nurse"])).json()["events"] if e["type"] == "alert.updated"]
    assert [e["data"] for e in updated] == [{"alert_id": alert_id}]


def test_an_organisation_admins_home_page_hears_of_a_no_lead_alert_live(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    from tests.helpers import sign_in
    from tests.web.test_live_pages import ORIGIN, Page

    t = net["t"]
    with world.db.transaction() as session:
        school = session.exec(select(Organisation).where(Organisation.name == "Oakfield Primary")).one()
    world.account("head@school.example.org", organisation=school, org_admin=True, name="Hannah Head")
    client.delete(f"/api/v1/networks/{net['id']}/leads/me", headers=bearer(t["nurse"]))
    sign_in(client, "head@school.example.org", PASSWORD)
    home = client.get("/")
    assert 'ws-connect="/live?view=home' in home.text, "an organisation admin's home page is live"
    with client.websocket_connect("/live?view=home", headers=ORIGIN) as socket:
        socket.send_json({"type": "resume", "cursors": {}})
        page = Page(socket)
        for who in ("teacher", "teacher", "officer"):
            _post(client, net, who)
        received = page.until("Networks that need attention", seconds=5)
        assert 'id="admin-alerts-region" hx-swap-oob="true"' in received
        assert "No lead professional" in received and "Tom Fletcher" in received
        assert "Maya" not in received and "hungry" not in received, "the admin learns nothing else"


def test_an_open_alert_page_shows_another_leads_acknowledgement_live(
    client: TestClient, world: World, net: dict[str, Any]
) -> None:
    import html
    import re

    from tests.helpers import sign_in
    from tests.web.test_live_pages import ORIGIN, Page

    t = net["t"]
    officer_id = net["members"]["Joe Bennett"]["user_id"]
    client.post(f"/api/v1/networks/{net['id']}/leads", json={"user_id": officer_id}, headers=bearer(t["nurse"]))
    for who in ("teacher", "teacher", "officer"):
        _post(client, net, who)
    alert_id = _alerts(client, t["nurse"])[0]["id"]
    sign_in(client, "nurse@health.example.org", PASSWORD)
    page = client.get(f"/alerts/{alert_id}").text
    connect = re.search(r'ws-connect="([^"]+)"', page)
    cursor = re.search(r'id="live-cursor" hidden data-cursor="([^"]+)"', page)
    assert connect and cursor, "a lead's alert page is live"
    with client.websocket_connect(html.unescape(connect.group(1)), headers=ORIGIN) as socket:
        socket.send_json({"type": "resume", "network": net["id"], "cursor": cursor.group(1)})
        live = Page(socket)
        acknowledged = client.post(f"/api/v1/alerts/{alert_id}/acknowledgement", headers=bearer(t["officer"]))
        assert acknowledged.status_code == 200, acknowledged.text
        update = live.until('id="alert-summary"')
        assert 'hx-swap-oob="true"' in update and "Acknowledged" in update
