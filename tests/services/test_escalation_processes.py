"""Escalation with real `patchwork serve` processes: an urgent note whose time passed while every process was down
escalates when one comes back (SQLite), and two processes polling the same PostgreSQL database raise it once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL
from tests.helpers import bearer
from tests.servers import Server, need, new_secrets, patchwork_env, run_patchwork, serving, throwaway_database

PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@escalation.example.org"
FAST = {"PATCHWORK_URGENT_ESCALATION_MINUTES": "0.03", "PATCHWORK_ALERT_POLL_SECONDS": "0.2"}  # 1.8 s; 5 looks a second
URGENT = {
    "body": "Bruise on the cheek; would not say how.",
    "category": "injury",
    "level": "urgent",
    "observed_on": "2026-12-01",
    "audience": {"kind": "network"},
    "basis": {"kind": "without_consent", "reason": "risk_to_child", "justification": "Parent is the concern."},
    "referral_route_acknowledged": True,
}


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _network_with_a_lead(server: Server) -> dict[str, str]:
    """Through the API: a teacher who posts and a nurse who leads, in two organisations."""
    with httpx.Client(base_url=server.base, trust_env=False, timeout=30) as client:
        admin = bearer(
            _created(client.post("/api/v1/tokens", json={"email": ADMIN_EMAIL, "password": PASSWORD}))["token"]
        )
        tokens, ids = {}, {}
        for who, kind in (("teacher", "school"), ("nurse", "health")):
            organisation = _created(
                client.post("/api/v1/organisations", json={"name": f"{who} org", "type": kind}, headers=admin)
            )
            email = f"{who}@escalation.example.org"
            user = {"email": email, "name": f"The {who}", "organisation_id": organisation["id"], "password": PASSWORD}
            ids[who] = _created(client.post("/api/v1/users", json=user, headers=admin))["id"]
            tokens[who] = _created(client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}))["token"]
        child = {"given_name": "Remy", "family_name": "Okafor", "date_of_birth": "2018-04-09"}
        start = {"child": child, "role_label": "Class teacher", "reason": "In my class"}
        network = _created(client.post("/api/v1/networks", json=start, headers=bearer(tokens["teacher"])))["id"]
        _created(
            client.post(
                f"/api/v1/networks/{network}/involvements",
                json={"role_label": "School nurse", "reason": "Drop-in"},
                headers=bearer(tokens["nurse"]),
            )
        )
        _created(
            client.post(
                f"/api/v1/networks/{network}/leads", json={"user_id": ids["nurse"]}, headers=bearer(tokens["nurse"])
            )
        )
        return {"network": network, **tokens}


def _alerts(server: Server, token: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.base, trust_env=False, timeout=30) as client:
        answer = client.get("/api/v1/alerts", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["alerts"])


def _escalations_within(server: Server, token: str, seconds: float) -> list[dict[str, Any]]:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        found = [a for a in _alerts(server, token) if a["kind"] == "escalation"]
        if found:
            return found
        time.sleep(0.2)
    return []


def _post_urgent(server: Server, made: dict[str, str]) -> str:
    with httpx.Client(base_url=server.base, trust_env=False, timeout=30) as client:
        return str(
            _created(
                client.post(f"/api/v1/networks/{made['network']}/notes", json=URGENT, headers=bearer(made["teacher"]))
            )["id"]
        )


def _deployment(database_url: str, workdir: Path) -> dict[str, str]:
    secret_key, data_key = new_secrets()
    env = patchwork_env(database_url=database_url, secret_key=secret_key, data_key=data_key) | FAST
    run_patchwork(env, workdir, "db", "upgrade")
    run_patchwork(env | {"PATCHWORK_ADMIN_PASSWORD": PASSWORD}, workdir, "createadmin", "--email", ADMIN_EMAIL)
    return env


def test_an_escalation_due_while_the_server_was_down_is_raised_when_it_returns(tmp_path: Path) -> None:
    env = _deployment(f"sqlite:///{tmp_path / 'escalation.sqlite'}", tmp_path)
    with serving(env, tmp_path, "before") as (server,):
        made = _network_with_a_lead(server)
        note_id = _post_urgent(server, made)
        assert [a["kind"] for a in _alerts(server, made["nurse"])] == ["urgent"], "not yet escalated"
    time.sleep(2.5)  # every process down while the escalation falls due
    with serving(env, tmp_path, "after") as (server,):
        raised = _escalations_within(server, made["nurse"], 10)
        assert [a["note_ids"] for a in raised] == [[note_id]], server.tail()
        time.sleep(1.0)
        assert len([a for a in _alerts(server, made["nurse"]) if a["kind"] == "escalation"]) == 1, "raised once"


def test_an_acknowledgement_by_the_lead_stops_the_escalation(tmp_path: Path) -> None:
    env = _deployment(f"sqlite:///{tmp_path / 'acknowledged.sqlite'}", tmp_path)
    with serving(env, tmp_path, "ack") as (server,):
        made = _network_with_a_lead(server)
        note_id = _post_urgent(server, made)
        with httpx.Client(base_url=server.base, trust_env=False, timeout=30) as client:
            answer = client.post(f"/api/v1/notes/{note_id}/acknowledgements", headers=bearer(made["nurse"]))
            assert answer.status_code in (200, 201), answer.text
        assert _escalations_within(server, made["nurse"], 4.0) == [], "acknowledged by a lead in time: no escalation"


def test_two_processes_on_postgresql_raise_an_escalation_once(tmp_path: Path) -> None:
    admin_url = need(PG_URL, "PostgreSQL: set PATCHWORK_TEST_DATABASE_URL")
    with throwaway_database(admin_url) as database_url:
        env = _deployment(database_url, tmp_path)
        with serving(env, tmp_path, "poller-a", "poller-b") as (a, b):
            made = _network_with_a_lead(a)
            note_id = _post_urgent(b, made)
            raised = _escalations_within(a, made["nurse"], 10)
            assert [r["note_ids"] for r in raised] == [[note_id]]
            time.sleep(1.5)  # both processes have looked several times since
            assert len([r for r in _alerts(b, made["nurse"]) if r["kind"] == "escalation"]) == 1, (a.tail(), b.tail())


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
