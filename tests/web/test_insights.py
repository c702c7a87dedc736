"""Insights: counts per organisation type for a system admin only, nothing about a child, nothing under 5."""

from __future__ import annotations

from starlette.testclient import TestClient

from patchwork.models.accounts import AccountKind
from tests.conftest import PASSWORD, World
from tests.helpers import api_token, bearer, sign_in
from tests.web.test_dashboard import _led_networks, _post


def _insights(client: TestClient, token: str) -> dict[str, dict]:  # type: ignore[type-arg]
    answer = client.get("/api/v1/insights", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return {t["organisation_type"]: t for t in answer.json()["by_organisation_type"]}


def test_counts_of_five_or_more_only_and_never_a_child(client: TestClient, world: World) -> None:
    led = _led_networks(client, world, 6)
    t, ids = led["t"], led["ids"]
    for network_id in ids[:5]:
        _post(client, t, network_id, "teacher", observed_on="2026-11-02")
    _post(client, t, ids[5], "officer", observed_on="2026-11-02")
    world.account("root@example.org", kind=AccountKind.admin)
    admin = api_token(client, "root@example.org", PASSWORD)
    found = _insights(client, admin)
    assert found["health"]["networks_open"] == 6 and found["school"]["networks_open"] == 6
    assert found["health"]["networks_closed"] is None, "none closed: fewer than 5"
    school_notes = [n for n in found["school"]["notes"] if n["month"] == "2026-11"]
    assert school_notes == [{"month": "2026-11", "category": "Hunger and nutrition", "level": "concern", "count": 5}]
    police_notes = [n for n in found["police"]["notes"] if n["month"] == "2026-11"]
    assert [n["count"] for n in police_notes] == [None], "one note from the police: fewer than 5"
    assert found["school"]["median_minutes_to_acknowledge_urgent"] is None
    text = client.get("/api/v1/insights", headers=bearer(admin)).text
    for child_detail in ("Kid", "Example", "2015-01", "Helen", "Oakfield"):
        assert child_detail not in text
    assert client.get("/api/v1/insights", headers=bearer(t["nurse"])).status_code == 403
    sign_in(client, "root@example.org", PASSWORD)
    page = client.get("/insights")
    assert page.status_code == 200 and "fewer than 5" in page.text and "Kid" not in page.text
    sign_in(client, "nurse@health.example.org", PASSWORD)
    assert client.get("/insights").status_code == 403
