"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_networks import START, _people, _tokens


@pytest.fixture
def net(client: TestClient, world: World) -> dict:  # type: ignore[type-arg]
    _people(world)
    t = _tokens(client)
    network = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
    for who, role in (("teacher", "Teacher"), ("officer", "Police officer")):
        client.post(
            f"/api/v1/networks/{network['id']}/involvements",
            json={"role_label": role, "reason": "x"},
            headers=bearer(t[who]),
        )
    nurse_id = network["involvements"][0]["user_id"]
    client.post(f"/api/v1/networks/{network['id']}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"]))
    detail = client.get(f"/api/v1/networks/{network['id']}", headers=bearer(t["nurse"])).json()
    ids = {i["name"]: i for i in detail["involvements"]}
    return {"id": network["id"], "t": t, "members": ids}
