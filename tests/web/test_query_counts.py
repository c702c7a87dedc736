"""Lists render with a constant number of SQL queries, however many notes there are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.conftest import World
from tests.helpers import bearer
from tests.web.test_networks import START, _people, _tokens
from tests.web.test_notes_api import NOTE


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _network_with_notes(client: TestClient, world: World, count: int) -> tuple[str, dict[str, str]]:
    _people(world)
    t = _tokens(client)
    network = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
    client.post(
        f"/api/v1/networks/{network['id']}/involvements",
        json={"role_label": "T", "reason": "x"},
        headers=bearer(t["teacher"]),
    )
    police = client.post(
        f"/api/v1/networks/{network['id']}/involvements",
        json={"role_label": "P", "reason": "x"},
        headers=bearer(t["officer"]),
    ).json()
    for n in range(count):
        audience = [{"kind": "network"}, {"kind": "organisations", "organisation_ids": [police["organisation"]["id"]]}][
            n % 2
        ]
        note = client.post(
            f"/api/v1/networks/{network['id']}/notes",
            json=NOTE | {"body": f"note {n}", "audience": audience},
            headers=bearer(t["teacher"]),
        ).json()
        client.post(
            f"/api/v1/notes/{note['id']}/revisions", json={"body": f"note {n} revised"}, headers=bearer(t["teacher"])
        )
        client.post(f"/api/v1/notes/{note['id']}/replies", json={"body": "reply"}, headers=bearer(t["officer"]))
        client.post(f"/api/v1/notes/{note['id']}/acknowledgements", headers=bearer(t["officer"]))
    return network["id"], t


def _queries_for(client: TestClient, paths: list[str], token: str) -> list[int]:
    counts = []
    for path in paths:
        with counting() as statements:
            response = client.get(path, headers=bearer(token))
            assert response.status_code == 200, response.text
        counts.append(len(statements))
    return counts


def test_list_queries_do_not_grow_with_notes(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    from patchwork.app import create_app
    from tests.conftest import _empty

    results = []
    for count in (2, 12):
        _empty(settings.database_url)
        with TestClient(create_app(settings)) as client:
            network_id, t = _network_with_notes(client, world, count)
            paths = [f"/api/v1/networks/{network_id}/notes?limit=50"]
            results.append(_queries_for(client, paths, t["officer"]))
            listed = client.get(paths[0], headers=bearer(t["officer"])).json()["notes"]
            assert len(listed) == count
    assert results[0] == results[1], f"queries grew with the number of notes: {results}"
    assert results[0][0] <= 20  # 4 of them record the read in the audit trail
