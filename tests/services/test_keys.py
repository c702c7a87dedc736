"""Encryption at rest and key rotation: a dump holds no note text or child identifiers; rotation moves every
sealed value to the new key while both keys are held, and afterwards the old key is no longer needed."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from patchwork.db import Database
from patchwork.runtime import keyring_for
from patchwork.services import keys as key_service
from tests.conftest import TEST_DATA_KEY, World, make_settings
from tests.helpers import bearer
from tests.web.test_networks import START, _people, _tokens
from tests.web.test_notes_api import NOTE

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
SECRET_BODY = "Unmistakable phrase about the kitchen cupboards"


def _activity(client: TestClient, world: World) -> tuple[str, str]:
    _people(world)
    t = _tokens(client)
    network = client.post("/api/v1/networks", json=START, headers=bearer(t["nurse"])).json()
    client.post(
        f"/api/v1/networks/{network['id']}/involvements",
        json={"role_label": "T", "reason": "x"},
        headers=bearer(t["teacher"]),
    )
    note = client.post(
        f"/api/v1/networks/{network['id']}/notes", json=NOTE | {"body": SECRET_BODY}, headers=bearer(t["teacher"])
    ).json()
    client.post(
        f"/api/v1/notes/{note['id']}/revisions", json={"body": SECRET_BODY + " (revised)"}, headers=bearer(t["teacher"])
    )
    client.post(
        f"/api/v1/notes/{note['id']}/replies", json={"body": SECRET_BODY + " reply"}, headers=bearer(t["nurse"])
    )
    return network["id"], note["id"]


def _dump(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        db = Database(database_url)
        with db.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(FULL)"))
        db.dispose()
        return path.read_bytes().decode("latin-1")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(["pg_dump", url], capture_output=True, text=True, check=True, timeout=60).stdout


def test_a_database_dump_shows_no_note_text_or_child_identifiers(
    client: TestClient, world: World, database_url: str
) -> None:
    _activity(client, world)
    dump = _dump(database_url)
    for secret in (SECRET_BODY, "Maya", "Thompson", "9434765919", "EA1 4QT", "Parent is the concern"):
        assert secret not in dump, secret


def test_rotation_moves_everything_to_the_new_key(
    client: TestClient, world: World, settings, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    network_id, note_id = _activity(client, world)
    rotating = make_settings(database_url, data_key=NEW_KEY, data_keys_previous=TEST_DATA_KEY)
    db = Database(database_url)
    try:
        from patchwork.app import create_app

        with TestClient(create_app(rotating)) as during:
            t = _tokens(during)
            assert (
                during.get(f"/api/v1/notes/{note_id}", headers=bearer(t["teacher"]))
                .json()["body"]
                .startswith(SECRET_BODY)
            )
            report = key_service.rotate(db=db, keys=keyring_for(rotating), batch=2)
            assert report.total >= 5 and report.resealed["child"] == 1
            again = key_service.rotate(db=db, keys=keyring_for(rotating))
            assert again.total == 0, "a second run finds nothing left to do"
        with db.transaction() as session:
            usage = key_service.key_usage(session=session)
        assert set(usage) == {keyring_for(rotating).cipher.current_id}
        only_new = make_settings(database_url, data_key=NEW_KEY)
        with TestClient(create_app(only_new)) as after:
            t = _tokens(after)
            note = after.get(f"/api/v1/notes/{note_id}", headers=bearer(t["teacher"])).json()
            assert note["body"] == SECRET_BODY + " (revised)" and note["replies"][0]["body"] == SECRET_BODY + " reply"
            search = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
            match = after.post("/api/v1/children/search", json=search, headers=bearer(t["officer"])).json()["match"]
            assert match["network_id"] == network_id
    finally:
        db.dispose()


def test_search_works_during_rotation_with_both_keys(client: TestClient, world: World, database_url: str) -> None:
    network_id, _ = _activity(client, world)
    from patchwork.app import create_app

    rotating = make_settings(database_url, data_key=NEW_KEY, data_keys_previous=TEST_DATA_KEY)
    with TestClient(create_app(rotating)) as during:
        t = _tokens(during)
        search = {"family_name": "Thompson", "date_of_birth": "2017-03-27", "given_name": "Maya"}
        assert (
            during.post("/api/v1/children/search", json=search, headers=bearer(t["officer"])).json()["match"][
                "network_id"
            ]
            == network_id
        )
        duplicate = during.post("/api/v1/networks", json=START, headers=bearer(t["officer"]))
        assert duplicate.status_code == 409, "near-duplicate checks see children indexed under the old key"


def test_rotation_moves_an_identity_providers_client_secret(world: World, database_url: str) -> None:
    from patchwork.models import SsoProvider

    organisation = world.organisation()
    old = keyring_for(make_settings(database_url))
    with world.db.transaction() as session:
        provider = SsoProvider(
            organisation_id=organisation.id,
            discovery_url="https://login.example.org/.well-known/openid-configuration",
            issuer="https://login.example.org",
            client_id="patchwork",
            client_secret_sealed="",
        )
        provider.client_secret_sealed = old.cipher.encrypt("the-client-secret", context=f"sso-secret:{provider.id}")
        session.add(provider)
    rotating = keyring_for(make_settings(database_url, data_key=NEW_KEY, data_keys_previous=TEST_DATA_KEY))
    db = Database(database_url)
    try:
        assert key_service.rotate(db=db, keys=rotating).resealed["sso_provider"] == 1
    finally:
        db.dispose()
    only_new = keyring_for(make_settings(database_url, data_key=NEW_KEY))
    with world.db.transaction() as session:
        stored = session.get(SsoProvider, provider.id)
        assert stored is not None and "the-client-secret" not in stored.client_secret_sealed
        assert only_new.cipher.decrypt(stored.client_secret_sealed, context=f"sso-secret:{provider.id}") == (
            "the-client-secret"
        )
