"""The lead professional's dashboard: API and page, sorting, filtering by name, paging, the year's chart with its
table, what awaits acknowledgement oldest first, and a constant number of SQL queries for 4 and for 40 networks."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, World
from tests.helpers import bearer, csrf_from, sign_in
from tests.web.test_networks import _people, _tokens
from tests.web.test_notes_api import NOTE
from tests.web.test_query_counts import counting

CONCERN = NOTE | {"level": "concern"}


def _name(n: int) -> str:
    return "Kid" + chr(97 + n % 26) + chr(97 + n // 26)


def _led_networks(client: TestClient, world: World, count: int) -> dict[str, Any]:
    """`count` networks led by the nurse, each with the teacher and the officer as members."""
    _people(world)
    t = _tokens(client)
    ids = []
    for n in range(count):
        child = {
            "given_name": _name(n),
            "family_name": "Example",
            "date_of_birth": (date(2015, 1, 1) + timedelta(days=n)).isoformat(),
        }
        network = client.post(
            "/api/v1/networks",
            json={"child": child, "role_label": "School nurse", "reason": "Drop-in"},
            headers=bearer(t["nurse"]),
        ).json()
        for who in ("teacher", "officer"):
            client.post(
                f"/api/v1/networks/{network['id']}/involvements",
                json={"role_label": "X", "reason": "x"},
                headers=bearer(t[who]),
            )
        nurse_id = network["involvements"][0]["user_id"]
        client.post(f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"]))
        ids.append(network["id"])
    return {"ids": ids, "t": t}


def _post(client: TestClient, t: dict[str, str], network_id: str, who: str, **changes: Any) -> str:
    answer = client.post(f"/api/v1/networks/{network_id}/notes", json=CONCERN | changes, headers=bearer(t[who]))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_the_dashboard_api_sorts_filters_pages_and_counts(client: TestClient, world: World) -> None:
    led = _led_networks(client, world, 12)
    t, ids = led["t"], led["ids"]
    first = _post(client, t, ids[3], "teacher", observed_on="2026-10-01")
    _post(client, t, ids[3], "teacher", observed_on="2026-10-02")
    _post(client, t, ids[3], "officer", observed_on="2026-10-03")  # an accumulation alert on network 3
    _post(client, t, ids[7], "officer", level="observation")  # nothing awaits for an observation
    board = client.get("/api/v1/dashboard", headers=bearer(t["nurse"])).json()
    assert board["total_networks"] == 12 and board["pages"] == 2 and len(board["networks"]) == 10
    top = board["networks"][0]
    assert top["id"] == ids[3] and top["open_alerts"] == 1 and top["awaiting_acknowledgement"] == 3
    assert [a["kind"] for a in board["alerts"]] == ["accumulation"]
    assert board["awaiting"][0]["note_id"] == first, "oldest first"
    months = top["chart"]["months"]
    assert len(months) == 12 and sum(m["concern"] for m in months) == 3
    assert top["chart"]["categories"] == [
        {"category": "Hunger and nutrition", "observation": 0, "concern": 3, "urgent": 0}
    ]
    by_name = client.get("/api/v1/dashboard", params={"sort": "name", "page": "2"}, headers=bearer(t["nurse"])).json()
    assert [n["child"]["given_name"] for n in by_name["networks"]] == [_name(10), _name(11)]
    found = client.get("/api/v1/dashboard", params={"q": _name(7).upper()}, headers=bearer(t["nurse"])).json()
    assert [n["id"] for n in found["networks"]] == [ids[7]] and found["total_networks"] == 1
    teacher = client.get("/api/v1/dashboard", headers=bearer(t["teacher"])).json()
    assert teacher["networks"] == [] and teacher["alerts"] == [] and teacher["awaiting"] == [], "the teacher leads none"
    odd = client.get("/api/v1/dashboard", params={"sort": "nonsense", "page": "999"}, headers=bearer(t["nurse"])).json()
    assert odd["sort"] == "alerts" and odd["page"] == 2


@pytest.mark.parametrize("count", [4, 40])
def test_the_dashboard_asks_a_constant_number_of_queries(client: TestClient, world: World, count: int, request) -> None:  # type: ignore[no-untyped-def]
    led = _led_networks(client, world, count)
    t, ids = led["t"], led["ids"]
    for network_id in ids[:4]:
        for who in ("teacher", "teacher", "officer"):
            _post(client, t, network_id, who)
    with counting() as api_statements:
        assert client.get("/api/v1/dashboard", headers=bearer(t["nurse"])).status_code == 200
    sign_in(client, "nurse@health.example.org", PASSWORD)
    with counting() as page_statements:
        assert client.get("/").status_code == 200
    key = re.sub(r"\b40?\b", "N", request.node.name)  # the same test on the same database, the other count
    _COUNTS[(key, count)] = (len(api_statements), len(page_statements))
    if (key, 4) in _COUNTS and (key, 40) in _COUNTS:
        assert _COUNTS[(key, 4)] == _COUNTS[(key, 40)], f"queries for 4 and 40 networks: {_COUNTS}"


_COUNTS: dict[tuple[str, int], tuple[int, int]] = {}


def test_the_home_page_is_the_dashboard_and_works_without_javascript(client: TestClient, world: World) -> None:
    led = _led_networks(client, world, 3)
    t, ids = led["t"], led["ids"]
    for who in ("teacher", "teacher", "officer"):
        _post(client, t, ids[1], who)
    sign_in(client, "nurse@health.example.org", PASSWORD)
    home = client.get("/")
    assert "Networks you lead" in home.text and "Concerns building up" in home.text
    assert 'role="img"' in home.text and '<title id="chart-title-' in home.text, "each network has a chart"
    assert "Notes as a table" in home.text and "By month" in home.text, "and the same counts as a table"
    filtered = client.get("/", params={"q": _name(2)})
    assert len(re.findall(r'id="led-[0-9a-f]{8}-', filtered.text)) == 1 and _name(2).capitalize() in filtered.text
    alert_id = client.get("/api/v1/alerts", headers=bearer(t["nurse"])).json()["alerts"][0]["id"]
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "3 concerns from 2 organisations in 30 days" in page.text
    token = csrf_from(page.text)
    refused = client.post(f"/alerts/{alert_id}/resolution", data={"csrf_token": token, "outcome": "other", "text": ""})
    assert refused.status_code == 422 and 'href="#text"' in refused.text
    token = csrf_from(refused.text)
    done = client.post(
        f"/alerts/{alert_id}/resolution",
        data={"csrf_token": token, "outcome": "referred_to_social_care", "text": ""},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"])
    assert "The alert has been resolved" in shown.text and "Referred to children" in shown.text
    assert "Concerns building up" not in client.get("/").text.split("All your networks")[0], "news on reload"
    history = client.get("/alerts")
    assert "Resolved" in history.text, "a resolved alert stays in the history"
