"""Involvement, family and invitation details are sealed at rest: the raw columns hold no plain text, every page
and answer still shows them, `patchwork keys rotate` moves them to a new key, and migration 0013 seals the rows
an older database holds (and its downgrade opens them again)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from patchwork.app import create_app
from patchwork.db import Database
from patchwork.migrate import downgrade, upgrade
from patchwork.runtime import keyring_for
from patchwork.services import keys as key_service
from patchwork.settings import Settings
from tests.conftest import PG_URL, TEST_DATA_KEY, World, make_settings
from tests.helpers import api_token, bearer
from tests.servers import throwaway_database
from tests.web.test_family import FAMILY_PASSWORD, accept
from tests.web.test_networks import START, _people, _tokens

NEW_KEY = base64.urlsafe_b64encode(b"r" * 32).decode()
ROLE = "Refuge outreach worker"
REASON = "Supporting mum after the move to the refuge"
CONTACT = "07700 900123 refuge outreach line"
JOINER = {"name": "Sarah Thompson", "relationship": "Stepmother by marriage", "email": "sarah@example.net"}
WAITING = {
    "name": "Priya Quennell-Ashdown",
    "relationship": "Great-aunt on the father's side",
    "email": "pqa@aunt.example",
}
SEALED_COLUMNS = {
    "involvement": ("role_label_sealed", "reason_sealed", "contact_sealed"),
    "family_membership": ("relationship_sealed",),
    "family_invitation": ("name_sealed", "relationship_sealed", "email_sealed", "email_index"),
}
PLAIN = (ROLE, REASON, CONTACT, JOINER["relationship"], WAITING["name"], WAITING["relationship"], WAITING["email"])


def _facts(client: TestClient, world: World) -> dict[str, Any]:
    """A network whose lead is the refuge worker, one family member who joined and one invitation waiting."""
    _people(world)
    t = _tokens(client)
    start = START | {"role_label": ROLE, "reason": REASON, "contact": CONTACT}
    network = client.post("/api/v1/networks", json=start, headers=bearer(t["nurse"])).json()
    nurse_id = network["involvements"][0]["user_id"]
    url = f"/api/v1/networks/{network['id']}"
    assert client.post(f"{url}/leads", json={"user_id": nurse_id}, headers=bearer(t["nurse"])).is_success
    code = client.post(f"{url}/family-invitations", json=JOINER, headers=bearer(t["nurse"])).json()["code"]
    assert accept(client, code, JOINER).status_code == 201
    waiting = client.post(f"{url}/family-invitations", json=WAITING, headers=bearer(t["nurse"]))
    assert waiting.status_code == 201, waiting.text
    return {"id": network["id"], "url": url, "t": t}


def _raw(database_url: str) -> dict[str, list[str]]:
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            return {
                f"{table}.{column}": [
                    str(v) for v in connection.execute(text(f"SELECT {column} FROM {table}")).scalars()
                ]
                for table, columns in SEALED_COLUMNS.items()
                for column in columns
            }
    finally:
        db.dispose()


def _shown(client: TestClient, facts: dict[str, Any]) -> None:
    """What a lead sees: the involvement's role and contact, the family member's relationship, the invitation."""
    nurse = bearer(facts["t"]["nurse"])
    network = client.get(facts["url"], headers=nurse).json()
    assert (network["involvements"][0]["role_label"], network["involvements"][0]["contact"]) == (ROLE, CONTACT)
    family = client.get(f"{facts['url']}/family-members", headers=nurse).json()
    assert [m["relationship"] for m in family["family_members"]] == [JOINER["relationship"]]
    assert [(i["name"], i["relationship"], i["email"]) for i in family["invitations"]] == [
        (WAITING["name"], WAITING["relationship"], WAITING["email"])
    ]
    page = client.get(f"/networks/{facts['id']}", headers=nurse)
    assert page.status_code == 200


def test_the_columns_hold_no_plain_text_and_every_answer_shows_it(
    client: TestClient, world: World, database_url: str
) -> None:
    facts = _facts(client, world)
    raw = _raw(database_url)
    assert len(raw["involvement.role_label_sealed"]) == 1 and len(raw["family_invitation.name_sealed"]) == 2
    for column, values in raw.items():
        for value in values:
            if not column.endswith("email_index"):
                assert value.startswith("v1:"), (column, value)
            for plain in (*PLAIN, JOINER["email"], JOINER["name"]):
                assert plain not in value and plain.lower() not in value, (column, plain)
    _shown(client, facts)


def test_a_new_invitation_replaces_the_waiting_one_for_the_same_address(
    client: TestClient, world: World, database_url: str
) -> None:
    """The look-up by e-mail address goes through the keyed digest, also while a rotation is under way."""
    facts = _facts(client, world)
    rotating = make_settings(database_url, data_key=NEW_KEY, data_keys_previous=TEST_DATA_KEY)
    with TestClient(create_app(rotating)) as during:
        nurse = bearer(_tokens(during)["nurse"])
        again = during.post(f"{facts['url']}/family-invitations", json=WAITING | {"name": "P Q-A"}, headers=nurse)
        assert again.status_code == 201
        waiting = during.get(f"{facts['url']}/family-members", headers=nurse).json()["invitations"]
    assert [i["name"] for i in waiting] == ["P Q-A"]


def test_rotation_moves_the_details_to_the_new_key(client: TestClient, world: World, database_url: str) -> None:
    facts = _facts(client, world)
    old_id = keyring_for(make_settings(database_url)).cipher.current_id
    rotating = make_settings(database_url, data_key=NEW_KEY, data_keys_previous=TEST_DATA_KEY)
    new_id = keyring_for(rotating).cipher.current_id
    db = Database(database_url)
    try:
        with db.transaction() as session:
            assert key_service.key_usage(session=session)[old_id] >= 10
        report = key_service.rotate(db=db, keys=keyring_for(rotating), batch=1)
        assert report.resealed["involvement"] == 1
        assert report.resealed["family_membership"] == 1
        assert report.resealed["family_invitation"] == 2
        with db.transaction() as session:
            assert set(key_service.key_usage(session=session)) == {new_id}
    finally:
        db.dispose()
    for column, values in _raw(database_url).items():
        if not column.endswith("email_index"):
            assert all(value.startswith(f"v1:{new_id}:") for value in values), column
    only_new = make_settings(database_url, data_key=NEW_KEY)
    with TestClient(create_app(only_new)) as after:
        facts["t"] = _tokens(after)
        _shown(after, facts)
        nurse = bearer(facts["t"]["nurse"])
        # The digests were made again under the new key: a new invitation still replaces the waiting one.
        assert after.post(f"{facts['url']}/family-invitations", json=WAITING, headers=nurse).status_code == 201
        assert len(after.get(f"{facts['url']}/family-members", headers=nurse).json()["invitations"]) == 1
        family = bearer(api_token(after, JOINER["email"], FAMILY_PASSWORD))
        mine = after.get("/api/v1/networks", headers=family).json()["networks"]
        assert [n["role_label"] for n in mine] == [JOINER["relationship"]]


@contextmanager
def _fresh(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need PATCHWORK_TEST_DATABASE_URL")
    with throwaway_database(PG_URL) as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_0013_seals_the_rows_an_older_database_holds(backend: str, tmp_path: Path) -> None:
    with _fresh(backend, tmp_path) as url:
        settings: Settings = make_settings(url)
        keys = (settings.data_key,)
        upgrade(url)
        world = World(db=Database(url), settings=settings)
        try:
            with TestClient(create_app(settings)) as client:
                facts = _facts(client, world)
        finally:
            world.db.dispose()
        downgrade(url, "0012", data_keys=keys)
        db = Database(url)
        try:
            with db.engine.connect() as connection:
                role, reason, contact = connection.execute(
                    text("SELECT role_label, reason, contact FROM involvement")
                ).one()
                emails = set(connection.execute(text("SELECT email FROM family_invitation")).scalars())
            assert (role, reason, contact) == (ROLE, REASON, CONTACT), "the downgrade opens the sealed values"
            assert emails == {JOINER["email"], WAITING["email"]}
        finally:
            db.dispose()

        with pytest.raises(RuntimeError, match="PATCHWORK_DATA_KEY"):
            upgrade(url)
        upgrade(url, data_keys=keys)
        for values in _raw(url).values():
            for value in values:
                assert not any(plain in value for plain in PLAIN)
        with TestClient(create_app(settings)) as client:
            facts["t"] = _tokens(client)
            _shown(client, facts)
